package engine

import (
	"fmt"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// hostReadingHTTPOptions are http.send request keys that make OPA read a
// host file or environment variable, or reach a local socket. --allow-net
// allows the network, never the host: a request using one is refused.
var hostReadingHTTPOptions = []string{
	"tls_ca_cert_file", "tls_ca_cert_env_variable",
	"tls_client_cert_file", "tls_client_cert_env_variable",
	"tls_client_key_file", "tls_client_key_env_variable",
}

// http.send exists only with --allow-net. OPA's implementation also reads
// certificate files and environment variables named in the request, and
// dials Unix sockets for unix:// URLs; the wrapper refuses those requests
// before OPA sees them. It replaces the builtin once, for the process: no
// caller of this package wants the host-reading forms.
func init() {
	send := topdown.GetBuiltin(ast.HTTPSend.Name)
	if send == nil {
		return
	}
	topdown.RegisterBuiltinFunc(ast.HTTPSend.Name, func(bctx topdown.BuiltinContext, operands []*ast.Term, iter func(*ast.Term) error) error {
		if len(operands) > 0 {
			if req, ok := operands[0].Value.(ast.Object); ok {
				if err := refuseHostAccess(req); err != nil {
					return topdown.Halt{Err: err}
				}
			}
		}
		return send(bctx, operands, iter)
	})
}

func refuseHostAccess(req ast.Object) error {
	for _, key := range hostReadingHTTPOptions {
		if req.Get(ast.StringTerm(key)) != nil {
			return fmt.Errorf("http.send: %s reads the host, and policies may use only the network: pass the PEM itself (tls_ca_cert, tls_client_cert, tls_client_key)", key)
		}
	}
	if u := req.Get(ast.StringTerm("url")); u != nil {
		if s, ok := u.Value.(ast.String); ok && strings.HasPrefix(strings.ToLower(string(s)), "unix:") {
			return fmt.Errorf("http.send: unix:// URLs reach local sockets, and policies may use only the network")
		}
	}
	return nil
}
