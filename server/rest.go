package server

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/imstatus/imstatus/server/presence"
	"github.com/imstatus/imstatus/usersig"
	"github.com/imstatus/imstatus/wire"
)

// REST error codes (upstream's).
const (
	restBadJSON      = 60003 // the body is not valid JSON
	restBadAuth      = 60004 // sdkappid, identifier or usersig missing or wrong
	restSigExpired   = 60005 // the admin's UserSig expired
	restNotAdmin     = 60010 // only the app's admin may call this
	restNoSuchAPI    = 60009 // unknown service or command
	restAccountAdmin = 70403 // account commands: the caller is not the admin
)

// restReply is a REST answer in upstream's envelope.
type restReply struct {
	b []byte
}

func newReply() *restReply {
	return &restReply{b: []byte(`{"ActionStatus":"OK","ErrorCode":0,"ErrorInfo":""`)}
}

func restFail(code int, info string) *restReply {
	r := &restReply{b: []byte(`{"ActionStatus":"FAIL","ErrorCode":`)}
	r.b = strconv.AppendInt(r.b, int64(code), 10)
	r.b = append(r.b, `,"ErrorInfo":`...)
	r.b = wire.AppendString(r.b, info)
	return r
}

// field appends "key":raw to the envelope.
func (r *restReply) field(key string, raw []byte) *restReply {
	r.b = append(r.b, ',')
	r.b = wire.AppendString(r.b, key)
	r.b = append(r.b, ':')
	r.b = append(r.b, raw...)
	return r
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	reply := s.rest(r)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK) // upstream answers 200 always; the envelope says how it went
	w.Write(append(reply.b, "}\n"...))
}

func (s *Server) rest(r *http.Request) *restReply {
	if r.Method != http.MethodPost {
		return restFail(restNoSuchAPI, "use POST")
	}
	q := r.URL.Query()
	service, command := r.PathValue("service"), r.PathValue("command")
	appID, err := strconv.ParseUint(q.Get("sdkappid"), 10, 64)
	a := s.app(appID)
	if err != nil || a == nil {
		return restFail(restBadAuth, "sdkappid missing or unknown")
	}
	if fail := s.checkAdmin(a, service, q.Get("identifier"), q.Get("usersig")); fail != nil {
		return fail
	}
	limit := s.opts.RESTBodyLimit
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(limit)+1))
	if err != nil {
		return restFail(restBadJSON, "reading the body: "+err.Error())
	}
	if len(body) > limit {
		s.metrics.restBodiesRefused.Add(1)
		return restFail(wire.CodeServerParams, "body larger than the limit of "+strconv.Itoa(limit)+" bytes")
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := wire.CheckJSON(body); err != nil {
		return restFail(restBadJSON, "the body is "+err.Error())
	}
	if !gjson.ParseBytes(body).IsObject() {
		return restFail(restBadJSON, "the body is not a JSON object")
	}
	req := gjson.ParseBytes(body)
	switch service + "/" + command {
	case "im_open_login_svc/account_import":
		return a.restAccountImport(req)
	case "im_open_login_svc/multiaccount_import":
		return a.restMultiAccountImport(req)
	case "im_open_login_svc/kick":
		return a.restKick(req)
	case "openim/query_online_status":
		return a.restQueryOnline(req)
	case "sns/friend_add":
		return a.restFriendAdd(req, 1000, true)
	case "sns/friend_import":
		// Upstream imports one-way friends; an explicit AddType is honoured.
		return a.restFriendAdd(req, 1000, false)
	case "sns/friend_delete":
		return a.restFriendDelete(req)
	}
	return restFail(restNoSuchAPI, "unknown command "+truncate(service+"/"+command, 80))
}

// checkAdmin checks the caller of a REST call of service (and of the
// admin console): who must be a's admin, with a UserSig valid now. It
// returns nil when the call may go on.
func (s *Server) checkAdmin(a *app, service, who, sig string) *restReply {
	if who == "" {
		return restFail(restBadAuth, "identifier missing")
	}
	if who != a.conf().Admin {
		code := restNotAdmin
		if service == "im_open_login_svc" {
			code = restAccountAdmin
		}
		return restFail(code, "only the app's administrator may call the REST API")
	}
	if _, err := usersig.Verify(sig, a.conf().SecretKey, a.id, who, s.clock.Now()); err != nil {
		code := restBadAuth
		if usersig.CodeOf(err) == wire.CodeSigExpired {
			code = restSigExpired
		}
		return restFail(code, "usersig: "+err.Error())
	}
	return nil
}

// account reads a user id from the first of keys present.
func account(req gjson.Result, keys ...string) (string, *restReply) {
	for _, k := range keys {
		if v := req.Get(k); v.Exists() {
			if v.Type != gjson.String || !usersig.ValidUserID(v.Str) {
				return "", restFail(wire.CodeServerParams, k+" must be a valid user id ("+usersig.UserIDRule+")")
			}
			return v.Str, nil
		}
	}
	return "", restFail(wire.CodeServerParams, keys[0]+" is missing")
}

func (a *app) restAccountImport(req gjson.Result) *restReply {
	id, fail := account(req, "UserID", "Identifier")
	if fail != nil {
		return fail
	}
	ctx, cancel := a.call()
	defer cancel()
	if err := a.dir.ImportAccounts(ctx, id); err != nil {
		return a.restStoreErr(err)
	}
	return newReply()
}

func (a *app) restMultiAccountImport(req gjson.Result) *restReply {
	ids, err := wire.ParseIDArray(req.Get("Accounts"))
	if err != nil || len(ids) == 0 {
		return restFail(wire.CodeServerParams, "Accounts must be a non-empty array of user ids")
	}
	if len(ids) > 100 {
		return restFail(wire.CodeServerParams, "at most 100 Accounts per call")
	}
	var ok []string
	fails := []byte{'['}
	for _, id := range ids {
		if usersig.ValidUserID(id) {
			ok = append(ok, id)
			continue
		}
		if len(fails) > 1 {
			fails = append(fails, ',')
		}
		fails = wire.AppendString(fails, id)
	}
	ctx, cancel := a.call()
	defer cancel()
	if err := a.dir.ImportAccounts(ctx, ok...); err != nil {
		return a.restStoreErr(err)
	}
	return newReply().field("FailAccounts", append(fails, ']'))
}

func (a *app) restKick(req gjson.Result) *restReply {
	id, fail := account(req, "UserID", "Identifier")
	if fail != nil {
		return fail
	}
	ctx, cancel := a.call()
	defer cancel()
	exist, err := a.dir.Exists(ctx, id)
	if err != nil {
		return a.restStoreErr(err)
	}
	if !exist[0] {
		return restFail(wire.CodeAccountNotFound, "account "+id+" does not exist")
	}
	if err := a.kickUser(ctx, id); err != nil {
		return a.restStoreErr(err)
	}
	return newReply()
}

func (a *app) restQueryOnline(req gjson.Result) *restReply {
	ids, err := wire.ParseIDArray(req.Get("To_Account"))
	if err != nil || len(ids) == 0 {
		return restFail(wire.CodeServerParams, "To_Account must be a non-empty array of user ids")
	}
	if len(ids) > 500 {
		return restFail(wire.CodeServerParams, "at most 500 To_Account per call")
	}
	ctx, cancel := a.call()
	defer cancel()
	sts, err := a.statuses(ctx, ids)
	if err != nil {
		return a.restStoreErr(err)
	}
	detail := req.Get("IsNeedDetail").Int() == 1
	results := []byte{'['}
	errs := []byte{'['}
	for _, st := range sts {
		if st.Type == wire.StatusUnknown {
			if len(errs) > 1 {
				errs = append(errs, ',')
			}
			errs = append(errs, `{"To_Account":`...)
			errs = wire.AppendString(errs, st.UserID)
			errs = append(errs, `,"ErrorCode":70107}`...)
			continue
		}
		state := "Offline"
		if st.Type == wire.StatusOnline {
			state = "Online"
		}
		if len(results) > 1 {
			results = append(results, ',')
		}
		results = append(results, `{"To_Account":`...)
		results = wire.AppendString(results, st.UserID)
		results = append(results, `,"Status":"`+state+`","State":"`+state+`"`...)
		if detail {
			results = append(results, `,"Detail":[`...)
			for i, p := range st.Devices {
				if i > 0 {
					results = append(results, ',')
				}
				results = append(results, `{"Platform":`...)
				results = wire.AppendString(results, p)
				results = append(results, `,"Status":"Online"}`...)
			}
			results = append(results, ']')
		}
		results = append(results, '}')
	}
	r := newReply().field("QueryResult", append(results, ']'))
	if len(errs) > 1 {
		r.field("ErrorList", append(errs, ']'))
	}
	return r
}

// restFriendAdd serves friend_add and friend_import; bothByDefault is the
// direction used when the request gives no AddType.
func (a *app) restFriendAdd(req gjson.Result, max int, bothByDefault bool) *restReply {
	from, fail := account(req, "From_Account")
	if fail != nil {
		return fail
	}
	items := req.Get("AddFriendItem")
	if !items.IsArray() || len(items.Array()) == 0 {
		return restFail(wire.CodeServerParams, "AddFriendItem must be a non-empty array")
	}
	if n := len(items.Array()); n > max {
		return restFail(wire.CodeServerParams, "at most "+strconv.Itoa(max)+" AddFriendItem per call")
	}
	var to []string
	for _, it := range items.Array() {
		t := it.Get("To_Account")
		if t.Type != gjson.String || !usersig.ValidUserID(t.Str) {
			return restFail(wire.CodeServerParams, "every AddFriendItem needs a valid To_Account")
		}
		to = append(to, t.Str)
	}
	both := bothByDefault
	switch req.Get("AddType").String() {
	case "":
	case "Add_Type_Both":
		both = true
	case "Add_Type_Single":
		both = false
	default:
		return restFail(wire.CodeServerParams, "AddType must be Add_Type_Both or Add_Type_Single")
	}
	ctx, cancel := a.call()
	defer cancel()
	rs, err := a.dir.AddFriends(ctx, from, to, both)
	if err != nil {
		return a.restStoreErr(err)
	}
	if err := a.listenToFriends(ctx, from, rs, both); err != nil {
		return a.restStoreErr(err)
	}
	return friendResults(rs)
}

// listenToFriends makes the nodes of from's devices listen to the friends
// added and, both ways, the nodes of theirs listen to from: with
// auto-notify on, they hear of one another from now on.
func (a *app) listenToFriends(ctx context.Context, from string, rs []presence.FriendResult, both bool) error {
	if a.router == nil || !*a.conf().FriendStatusAutoNotify {
		return nil
	}
	var added []string
	for _, r := range rs {
		if r.Code == 0 {
			added = append(added, r.To)
		}
	}
	if err := a.router.ListenFor(ctx, from, added...); err != nil {
		return err
	}
	if both {
		for _, to := range added {
			if err := a.router.ListenFor(ctx, to, from); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *app) restFriendDelete(req gjson.Result) *restReply {
	from, fail := account(req, "From_Account")
	if fail != nil {
		return fail
	}
	to, err := wire.ParseIDArray(req.Get("To_Account"))
	if err != nil || len(to) == 0 {
		return restFail(wire.CodeServerParams, "To_Account must be a non-empty array of user ids")
	}
	if len(to) > 1000 {
		return restFail(wire.CodeServerParams, "at most 1000 To_Account per call")
	}
	for _, t := range to {
		if !usersig.ValidUserID(t) {
			return restFail(wire.CodeServerParams, "To_Account holds an invalid user id")
		}
	}
	both := false
	switch req.Get("DeleteType").String() {
	case "", "Delete_Type_Single":
	case "Delete_Type_Both":
		both = true
	default:
		return restFail(wire.CodeServerParams, "DeleteType must be Delete_Type_Both or Delete_Type_Single")
	}
	ctx, cancel := a.call()
	defer cancel()
	rs, err := a.dir.DeleteFriends(ctx, from, to, both)
	if err != nil {
		return a.restStoreErr(err)
	}
	return friendResults(rs)
}

func (a *app) restStoreErr(err error) *restReply {
	e := a.storeErr(err)
	return restFail(e.Code, e.Desc)
}

func friendResults(rs []presence.FriendResult) *restReply {
	b := []byte{'['}
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"To_Account":`...)
		b = wire.AppendString(b, r.To)
		b = append(b, `,"ResultCode":`...)
		b = strconv.AppendInt(b, int64(r.Code), 10)
		b = append(b, `,"ResultInfo":`...)
		b = wire.AppendString(b, r.Info)
		b = append(b, '}')
	}
	return newReply().field("ResultItem", append(b, ']'))
}
