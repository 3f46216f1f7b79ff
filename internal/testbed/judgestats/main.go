// Command judgestats sums what the test bed's judges judged in one test
// run (the files testbed.WriteJudgeStats left in a folder) and prints it.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/autonote/deploy-action/internal/testbed"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: judgestats FOLDER")
		os.Exit(2)
	}
	files, _ := filepath.Glob(filepath.Join(os.Args[1], "judge-*.json"))
	var sum testbed.JudgeStats
	actions := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		var s testbed.JudgeStats
		if json.Unmarshal(b, &s) != nil {
			continue
		}
		sum.Stats.Requests += s.Stats.Requests
		sum.Stats.IAMChecks += s.Stats.IAMChecks
		sum.Stats.Denied += s.Stats.Denied
		sum.Stats.Refused += s.Stats.Refused
		sum.Stats.Unmapped += s.Stats.Unmapped
		for _, a := range s.Actions {
			actions[a] = true
		}
	}
	var names []string
	for a := range actions {
		names = append(names, a)
	}
	slices.Sort(names)
	fmt.Printf("test bed: judged %d requests against AWS's request rules (%d refused) and %d IAM authorizations over %d actions (%d denied, %d requests not mapped to IAM)\n",
		sum.Stats.Requests, sum.Stats.Refused, sum.Stats.IAMChecks, len(names), sum.Stats.Denied, sum.Stats.Unmapped)
}
