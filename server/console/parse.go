package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/imstatus/imstatus/usersig"
)

// loginRequest is a login's body: the app, and either the admin's
// identifier and UserSig or the app's secret key.
type loginRequest struct {
	App        uint64
	Identifier string
	UserSig    string
	Key        string
}

// maxSecret bounds a UserSig's or key's length: real ones are a few
// hundred bytes.
const maxSecret = 2048

// decodeStrict decodes one JSON object into v: no unknown fields, nothing
// after it.
func decodeStrict(body []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return errors.New("the body is not the JSON object expected")
	}
	if d.More() {
		return errors.New("the body holds more than one JSON value")
	}
	return nil
}

// parseLogin reads a login's body: {"sdkappid":"…","identifier":"…",
// "usersig":"…"} or {"sdkappid":"…","key":"…"}.
func parseLogin(body []byte) (loginRequest, error) {
	var in struct {
		SDKAppID   json.Number `json:"sdkappid"`
		Identifier string      `json:"identifier"`
		UserSig    string      `json:"usersig"`
		Key        string      `json:"key"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return loginRequest{}, err
	}
	app, err := strconv.ParseUint(string(in.SDKAppID), 10, 64)
	if err != nil || app == 0 {
		return loginRequest{}, errors.New("sdkappid must be a positive integer")
	}
	r := loginRequest{App: app, Identifier: in.Identifier, UserSig: in.UserSig, Key: in.Key}
	switch {
	case len(r.Key) > maxSecret || len(r.UserSig) > maxSecret:
		return loginRequest{}, errors.New("usersig or key too long")
	case r.Key != "" && (r.UserSig != "" || r.Identifier != ""):
		return loginRequest{}, errors.New("give either the secret key or an identifier and its UserSig, not both")
	case r.Key != "":
		return r, nil
	case r.UserSig == "":
		return loginRequest{}, errors.New("give the secret key, or an identifier and its UserSig")
	}
	if err := usersig.CheckUserID(r.Identifier); err != nil {
		return loginRequest{}, fmt.Errorf("identifier: %w", err)
	}
	return r, nil
}

// kickRequest is a kick's body: a user, and its device on this node (0:
// every device of the user, on every node).
type kickRequest struct {
	User   string `json:"user"`
	Device uint64 `json:"device"`
	// Node holds the device ("" for this node), as the inspector shows it.
	Node string `json:"node"`
}

// maxNodeName bounds a node's name in a request (a --node-id, its suffix
// and a revival's ~N).
const maxNodeName = 128

func parseKick(body []byte) (kickRequest, error) {
	var k kickRequest
	if err := decodeStrict(body, &k); err != nil {
		return kickRequest{}, err
	}
	if _, err := checkID(k.User); err != nil {
		return kickRequest{}, err
	}
	if len(k.Node) > maxNodeName || strings.ContainsFunc(k.Node, func(r rune) bool { return r <= ' ' || r == 0x7f || r > '~' }) {
		return kickRequest{}, errors.New("node: at most 128 printable ASCII characters")
	}
	if k.Node != "" && k.Device == 0 {
		return kickRequest{}, errors.New("node without a device: give the device to kick on it")
	}
	return k, nil
}

// maxImport is the REST multiaccount_import's bound.
const maxImport = 100

// parseImport reads an import's body, {"ids":["a","b"]}, or the ids as
// the page's text field has them, {"text":"a, b c"}: ids separated by
// commas, spaces or new lines.
func parseImport(body []byte) ([]string, error) {
	var in struct {
		IDs  []string `json:"ids"`
		Text string   `json:"text"`
	}
	if err := decodeStrict(body, &in); err != nil {
		return nil, err
	}
	ids := in.IDs
	ids = append(ids, strings.FieldsFunc(in.Text, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})...)
	if len(ids) == 0 {
		return nil, errors.New("no ids given")
	}
	if len(ids) > maxImport {
		return nil, fmt.Errorf("at most %d ids at once", maxImport)
	}
	for _, id := range ids {
		if _, err := checkID(id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

func checkID(id string) (string, error) {
	if id == "" {
		return "", errors.New("a user id is needed")
	}
	if err := usersig.CheckUserID(id); err != nil {
		return "", err
	}
	return id, nil
}
