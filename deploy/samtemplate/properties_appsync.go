package samtemplate

// Property schemas of the AppSync Events resources, which goformation
// (v7.14.9, the last release) predates. Written from the CloudFormation
// resource provider schemas of AWS::AppSync::Api and
// AWS::AppSync::ChannelNamespace (as cfn-lint 1.51 bundles them), in
// goformation's convention: a JSON tag per property, omitempty unless the
// schema requires it. Read-only properties (ApiArn, ApiId, Dns,
// ChannelNamespaceArn) are attributes, not properties, and are left out.

type appSyncAPI struct {
	Name         string              `json:"Name"`
	EventConfig  *appSyncEventConfig `json:"EventConfig,omitempty"`
	OwnerContact string              `json:"OwnerContact,omitempty"`
	Tags         []appSyncTag        `json:"Tags,omitempty"`
}

type appSyncEventConfig struct {
	AuthProviders             []appSyncAuthProvider  `json:"AuthProviders"`
	ConnectionAuthModes       []appSyncAuthMode      `json:"ConnectionAuthModes"`
	DefaultPublishAuthModes   []appSyncAuthMode      `json:"DefaultPublishAuthModes"`
	DefaultSubscribeAuthModes []appSyncAuthMode      `json:"DefaultSubscribeAuthModes"`
	LogConfig                 *appSyncEventLogConfig `json:"LogConfig,omitempty"`
}

type appSyncAuthProvider struct {
	AuthType               string                   `json:"AuthType"`
	CognitoConfig          *appSyncCognitoConfig    `json:"CognitoConfig,omitempty"`
	LambdaAuthorizerConfig *appSyncLambdaAuthorizer `json:"LambdaAuthorizerConfig,omitempty"`
	OpenIDConnectConfig    *appSyncOpenIDConnect    `json:"OpenIDConnectConfig,omitempty"`
}

type appSyncCognitoConfig struct {
	UserPoolId       string `json:"UserPoolId"`
	AwsRegion        string `json:"AwsRegion"`
	AppIdClientRegex string `json:"AppIdClientRegex,omitempty"`
}

type appSyncLambdaAuthorizer struct {
	AuthorizerUri                string `json:"AuthorizerUri"`
	AuthorizerResultTtlInSeconds int    `json:"AuthorizerResultTtlInSeconds,omitempty"`
	IdentityValidationExpression string `json:"IdentityValidationExpression,omitempty"`
}

type appSyncOpenIDConnect struct {
	Issuer   string  `json:"Issuer"`
	AuthTTL  float64 `json:"AuthTTL,omitempty"`
	ClientId string  `json:"ClientId,omitempty"`
	IatTTL   float64 `json:"IatTTL,omitempty"`
}

type appSyncEventLogConfig struct {
	LogLevel              string `json:"LogLevel"`
	CloudWatchLogsRoleArn string `json:"CloudWatchLogsRoleArn"`
}

type appSyncAuthMode struct {
	AuthType string `json:"AuthType,omitempty"`
}

type appSyncTag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type appSyncChannelNamespace struct {
	ApiId              string                 `json:"ApiId"`
	Name               string                 `json:"Name"`
	CodeHandlers       string                 `json:"CodeHandlers,omitempty"`
	CodeS3Location     string                 `json:"CodeS3Location,omitempty"`
	HandlerConfigs     *appSyncHandlerConfigs `json:"HandlerConfigs,omitempty"`
	PublishAuthModes   []appSyncAuthMode      `json:"PublishAuthModes,omitempty"`
	SubscribeAuthModes []appSyncAuthMode      `json:"SubscribeAuthModes,omitempty"`
	Tags               []appSyncTag           `json:"Tags,omitempty"`
}

type appSyncHandlerConfigs struct {
	OnPublish   *appSyncHandlerConfig `json:"OnPublish,omitempty"`
	OnSubscribe *appSyncHandlerConfig `json:"OnSubscribe,omitempty"`
}

type appSyncHandlerConfig struct {
	Behavior    string             `json:"Behavior"`
	Integration appSyncIntegration `json:"Integration"`
}

type appSyncIntegration struct {
	DataSourceName string               `json:"DataSourceName"`
	LambdaConfig   *appSyncLambdaConfig `json:"LambdaConfig,omitempty"`
}

type appSyncLambdaConfig struct {
	InvokeType string `json:"InvokeType"`
}
