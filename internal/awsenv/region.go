package awsenv

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/autonote/deploy-action/internal/textdist"
)

// regionShape is what every AWS region's name looks like: a country or
// area code, a partition or direction word or two, and a number
// (us-east-1, us-gov-west-1, cn-north-1, eu-central-2, us-isob-east-1).
var regionShape = regexp.MustCompile(`^[a-z]{2}(-[a-z]+){1,2}-[0-9]{1,2}$`)

// knownRegions are the regions of the aws, aws-cn and aws-us-gov
// partitions as of 2026, for suggestions only: a name of the right shape
// that is not here (a region newer than this list) is taken.
var knownRegions = [...]string{
	"af-south-1", "ap-east-1", "ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
	"ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1",
	"eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1", "mx-central-1", "sa-east-1", "us-east-1",
	"us-east-2", "us-west-1", "us-west-2", "cn-north-1", "cn-northwest-1", "us-gov-east-1", "us-gov-west-1",
}

// CheckRegion says whether region can name an AWS region, before any call
// goes to an endpoint that cannot exist. The error names the nearest
// known regions.
func CheckRegion(region string) error {
	if regionShape.MatchString(region) {
		return nil
	}
	shown := region[:min(len(region), 40)]
	near := nearestRegions(strings.ToLower(strings.TrimSpace(region)))
	if len(near) == 0 {
		return fmt.Errorf("%q is not an AWS region: write one as AWS names it, e.g. us-east-1 or eu-west-2", shown)
	}
	return fmt.Errorf("%q is not an AWS region: did you mean %s?", shown, strings.Join(near, " or "))
}

// nearestRegions are the known regions at the smallest edit distance from
// s, if that distance is small.
func nearestRegions(s string) []string {
	best, out := 4, []string(nil)
	for _, r := range knownRegions {
		d := textdist.Distance(s, r)
		switch {
		case d < best:
			best, out = d, []string{r}
		case d == best:
			out = append(out, r)
		}
	}
	slices.Sort(out)
	return out[:min(len(out), 3)]
}
