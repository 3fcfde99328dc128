module github.com/imstatus/imstatus

go 1.26

require (
	github.com/gorilla/websocket v1.5.3
	github.com/tidwall/gjson v1.20.2
)

require (
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
)
