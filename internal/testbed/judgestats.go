package testbed

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/autonote/deploy-action/internal/testbed/awsjudge"
)

// JudgeStats is what one judge judged, as WriteJudgeStats records it.
type JudgeStats struct {
	Binary  string         `json:"binary"`
	Stats   awsjudge.Stats `json:"stats"`
	Actions []string       `json:"actions"`
}

// WriteJudgeStats records a judge's counts in the folder
// $TESTBED_JUDGE_STATS names, if set.
func WriteJudgeStats(j *awsjudge.Judge) error {
	dir := os.Getenv("TESTBED_JUDGE_STATS")
	if dir == "" {
		return nil
	}
	b, err := json.Marshal(JudgeStats{Binary: filepath.Base(os.Args[0]), Stats: j.Stats(), Actions: j.ActionsJudged()})
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "judge-*.json")
	if err != nil {
		return fmt.Errorf("record the judge's counts: %w", err)
	}
	defer f.Close()
	_, err = f.Write(b)
	return err
}
