package deployhook

import (
	"fmt"
	"maps"
	"slices"

	"github.com/autonote/deploy-action/internal/stdwebhook"
)

// keyring is every secret that signs requests to /v1/deployments, each with
// the targets it opens.
type keyring struct {
	secrets []stdwebhook.Secret
	// scope[i] are the targets secrets[i] opens; nil: every target that
	// has no secrets of its own.
	scope [][]string
	own   map[string]bool // targets with secrets of their own
}

func newKeyring(o options) keyring {
	k := keyring{own: map[string]bool{}}
	for _, s := range o.secrets {
		k.secrets, k.scope = append(k.secrets, s), append(k.scope, nil)
	}
	for _, name := range slices.Sorted(maps.Keys(o.targetSecrets)) {
		k.own[name] = true
		for _, s := range o.targetSecrets[name] {
			k.secrets, k.scope = append(k.secrets, s), append(k.scope, []string{name})
		}
	}
	return k
}

// key is the secret that signed a request.
type key int

// opens reports whether the key may deploy target and read its jobs.
func (k keyring) opens(i key, target string) bool {
	if k.scope[i] == nil {
		return !k.own[target]
	}
	return slices.Contains(k.scope[i], target)
}

// authorize says no, with 403, when the key does not open the target.
func (k keyring) authorize(i key, target string) error {
	if k.opens(i, target) {
		return nil
	}
	return fmt.Errorf("%w: the secret that signed this request does not open target %s", ErrForbidden, target)
}
