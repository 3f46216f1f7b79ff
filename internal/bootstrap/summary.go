package bootstrap

import (
	"cmp"
	"fmt"
	"strings"
)

var actionIcon = map[Action]string{Exists: "✅ exists", Create: "➕ create", Change: "✏️ change", Skip: "⏭️ skip", "deleted": "🗑️ deleted", "left": "⏭️ left"}

// Line is a step as one line of a terminal or an Actions log.
func (s Step) Line() string {
	line := fmt.Sprintf("%-8s %-8s %-20s %s", s.Action, cmp.Or(s.owner(), "-"), s.Kind, s.Name)
	if s.ID != "" && s.Action != Create {
		line += " (" + s.ID + ")"
	}
	if s.Detail != "" {
		line += ": " + s.Detail
	}
	return line
}

// owner is the step's owner as a plan prints it: ours, adopted, or
// adopted (stack staging in us-east-1's).
func (s Step) owner() string {
	if s.Whose != "" {
		return string(s.Owner) + " (" + s.Whose + "'s)"
	}
	return string(s.Owner)
}

// PlanTable renders steps as a Markdown table, then the advice on adopted
// resources as a list.
func PlanTable(title string, steps []Step) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n| resource | name | action | owner | detail |\n|---|---|---|---|---|\n", title)
	for _, s := range steps {
		icon := actionIcon[s.Action]
		if icon == "" {
			icon = string(s.Action)
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", s.Kind, s.Name, icon, s.owner(), cell(s.Detail))
	}
	if advice := Advice(steps); len(advice) > 0 {
		b.WriteString("\n### Advice on adopted resources\n\nThe bootstrap leaves these as they are; each says what would change them.\n\n")
		for _, a := range advice {
			fmt.Fprintf(&b, "- %s\n", cell(a))
		}
	}
	return b.String()
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }

// NetworkDiagram is a Mermaid flowchart of the network and the service, as
// the config lays it out, with the IDs found or made so far.
func NetworkDiagram(cfg Config, o Outputs) string {
	id := func(ids []string, i int) string {
		if i < len(ids) && ids[i] != "" {
			return "<br/>" + ids[i]
		}
		return ""
	}
	zone := func(i int) string {
		if i < len(o.AvailabilityZones) {
			return o.AvailabilityZones[i]
		}
		return fmt.Sprintf("zone %d", i+1)
	}
	var b strings.Builder
	b.WriteString("```mermaid\nflowchart TB\n")
	fmt.Fprintf(&b, "    internet((Internet)) --> igw[\"%s-igw-1\"]\n", cfg.Name)
	fmt.Fprintf(&b, "    subgraph vpc[\"VPC %s %s\"]\n", cfg.VPCCIDR, o.VPCID)
	for i := range 2 {
		fmt.Fprintf(&b, "        subgraph az%d[\"%s\"]\n", i, zone(i))
		fmt.Fprintf(&b, "            pub%d[\"public %s%s\"]\n", i, cfg.PublicSubnets[i], id(o.PublicSubnetIDs, i))
		fmt.Fprintf(&b, "            priv%d[\"private %s%s\"]\n", i, cfg.PrivateSubnets[i], id(o.PrivateSubnetIDs, i))
		b.WriteString("        end\n")
	}
	b.WriteString("        publicrt[\"public route table<br/>0.0.0.0/0 → gateway\"]\n")
	b.WriteString("        privatert[\"private route table<br/>no internet route\"]\n")
	from := strings.Join(cfg.IngressCIDRs, ", ")
	if cfg.Endpoint == EndpointLoadBalancer {
		from = strings.Join(append([]string{"from the load balancer"}, cfg.TaskIngressCIDRs...), ", ")
		listeners := "HTTP 80"
		if cfg.CertificateARN != "" {
			listeners = "HTTPS 443, HTTP 80 → 443"
		}
		if cfg.Shifts() {
			listeners += fmt.Sprintf("<br/>%s: %s-tg ⇄ %s-tg2, test rule %s", cfg.DeploymentStrategy, cfg.Name, cfg.Name, TestHeader)
		}
		fmt.Fprintf(&b, "        alb[\"%s-alb<br/>%s<br/>%s\"]\n", cfg.Name, listeners, cmp.Or(o.LoadBalancerDNS, "its DNS name"))
	}
	fmt.Fprintf(&b, "        svc[\"%s<br/>Fargate, port %d<br/>%s\"]\n", cfg.Service, cfg.ContainerPort, from)
	b.WriteString("    end\n")
	b.WriteString("    igw --> publicrt\n    publicrt --> pub0 & pub1\n    privatert --> priv0 & priv1\n    pub0 & pub1 --> svc\n")
	if cfg.Endpoint == EndpointLoadBalancer {
		b.WriteString("    igw --> alb\n    alb --> svc\n")
	}
	b.WriteString("```\n")
	return b.String()
}
