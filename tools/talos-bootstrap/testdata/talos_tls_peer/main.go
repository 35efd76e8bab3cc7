// A Go crypto/tls server with Talos's apid TLS settings (facts/talos.md §1):
// TLS >= 1.2, ALPN h2, session tickets off, RequireAndVerifyClientCert
// against the OS CA, every non-CA cert of the verified chain with EKU
// exactly [clientAuth], role from Subject O. Serves one gRPC method,
// /machine.MachineService/Version, with an empty VersionResponse (HTTP/2 from
// net/http, gRPC framing by hand). Stdlib only.
//
// Usage: main CA_PEM CERT_PEM KEY_PEM ADDR_FILE
// Prints nothing; writes the listening address to ADDR_FILE; runs until
// killed.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"os"
)

func main() {
	caPEM, _ := os.ReadFile(os.Args[1])
	pair, err := tls.LoadX509KeyPair(os.Args[2], os.Args[3])
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	config := &tls.Config{
		MinVersion:             tls.VersionTLS12,
		NextProtos:             []string{"h2"},
		SessionTicketsDisabled: true,
		Certificates:           []tls.Certificate{pair},
		ClientAuth:             tls.RequireAndVerifyClientCert,
		ClientCAs:              pool,
		VerifyPeerCertificate: func(_ [][]byte, chains [][]*x509.Certificate) error {
			for _, chain := range chains {
				for _, cert := range chain {
					if cert.IsCA {
						continue
					}
					if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != x509.ExtKeyUsageClientAuth {
						return errors.New("ext key usage must be exactly clientAuth")
					}
				}
			}
			return nil
		},
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", config)
	if err != nil {
		panic(err)
	}
	os.WriteFile(os.Args[4]+".tmp", []byte(ln.Addr().String()), 0600)
	os.Rename(os.Args[4]+".tmp", os.Args[4])
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := false
		for _, o := range r.TLS.PeerCertificates[0].Subject.Organization {
			admin = admin || o == "os:admin"
		}
		w.Header().Set("Content-Type", "application/grpc")
		w.Header().Set("Trailer", "Grpc-Status, Grpc-Message")
		if r.TLS.NegotiatedProtocol != "h2" || r.URL.Path != "/machine.MachineService/Version" {
			w.Header().Set("Grpc-Status", "12")
			w.Header().Set("Grpc-Message", "unimplemented")
			return
		}
		if !admin {
			w.Header().Set("Grpc-Status", "7")
			w.Header().Set("Grpc-Message", "not authorized")
			return
		}
		w.Write([]byte{0, 0, 0, 0, 0}) // empty VersionResponse
		w.Header().Set("Grpc-Status", "0")
	})
	server := &http.Server{Handler: handler, TLSConfig: config}
	server.Serve(ln)
}
