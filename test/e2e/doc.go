// Package e2e tests the built Lambda binaries of the five functions
// (cmd/getjob, cmd/submitjob, cmd/listjobs, cmd/canceljob, cmd/updatejob)
// end to end: each test starts AWS's Lambda Runtime Interface Emulator (the
// aws-lambda-rie tool pinned in go.mod) with a freshly built bootstrap,
// invokes it with API Gateway REST proxy events or, for UpdateJobFn, SQS
// events as the event source mapping sends them, and checks the responses,
// the jobs table on dynalite and the messages a fake SQS queue received.
//
// The package has tests only. It needs Linux (the emulator supports nothing
// else), Node for dynalite (`npm ci`), and the go command to build the
// binaries. The binaries are built with -cover: when the test binary runs
// with a coverage directory, theirs counts too.
package e2e
