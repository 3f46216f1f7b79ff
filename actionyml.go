// Package deployaction holds what the repository's root declares for the
// code: action.yml, whose inputs the action's command line mirrors.
package deployaction

import _ "embed"

// ActionYML is the action's metadata file.
//
//go:embed action.yml
var ActionYML []byte
