package dynamodb

// The capacity model (indexcapacity_test.go) sizes the items this store
// writes with the store's own encoder.
var (
	Encode = encode
	Decode = decode
)
