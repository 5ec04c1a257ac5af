package testenv

// AllowedOrigins are the prod stage's dashboards (template.yaml's
// AllowedOrigins in samconfig.toml's prod environment), for tests that
// build an API handler directly: the functions have no default.
const AllowedOrigins = "https://admin.deepfoundai.com,https://video.deepfoundai.com"
