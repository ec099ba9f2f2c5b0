module github.com/inbrowser/resnet

go 1.27

toolchain go1.27.4

require (
	github.com/andybalholm/brotli v1.3.0
	github.com/hack-pad/go-indexeddb v0.3.2
	github.com/nlpodyssey/gopickle v0.2.0
	golang.org/x/image v0.48.0
)

require github.com/hack-pad/safejs v0.1.0 // indirect
