// Package handoff is what the bootstrap leaves on the resources it makes
// for the deploy engine to read: the tags, and the rule for the host name
// one of them carries. Both sides import it, and neither imports the other.
package handoff

import (
	"fmt"
	"strings"
)

// DesiredCountTag on a service at zero tasks is the count its first deploy
// scales it to: the bootstrap creates the service before any image exists.
const DesiredCountTag = "deploy-action:desired-count"

// DomainTag on a load balancer is the name on its certificate, the name
// users call: the bootstrap's domain. The URL is https://<it>, and the
// smoke check sends it (SNI, Host) to the load balancer's address and
// verifies the certificate against it.
const DomainTag = "deploy-action:domain"

// CheckHostName says why name is not a host name users may call (RFC
// 1123: dot-separated labels of letters, digits and inner hyphens, at
// least two, 63 characters a label and 253 in all), or nil. A port, a path,
// a user or a space would send requests meant for the load balancer
// somewhere else.
func CheckHostName(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("%q is longer than a host name's 253 characters", name)
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q is not a host name: give the whole name users call, e.g. api.autonote.example", name)
	}
	for _, l := range labels {
		ok := len(l) > 0 && len(l) <= 63 && l[0] != '-' && l[len(l)-1] != '-'
		for _, c := range l {
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
		}
		if !ok {
			return fmt.Errorf("%q is not a host name: only letters, digits, inner hyphens and dots, no scheme, port, path, user or space (e.g. api.autonote.example)", name)
		}
	}
	return nil
}
