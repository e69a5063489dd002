package main

import (
	"github.com/wxmedia/wxmedia/internal/arguments"
	"github.com/wxmedia/wxmedia/plan"
)

func runShow(u *ui, a *arguments.Show) error {
	if a.PlanPath == "" {
		return showState(u, a.View)
	}
	p, err := plan.Open(a.PlanPath)
	if err != nil {
		return err
	}
	if err := p.CheckVersion(version); err != nil {
		u.warnf("%v", err)
	}
	return renderPlan(u, a.View, p)
}

// showState renders the current state in the view asked for: see
// plan.RenderState, RenderStateJSON and RenderStateMarkdown.
func showState(u *ui, view arguments.ViewType) error {
	snap, err := readSnapshotClosed(u, 0)
	if err != nil {
		return err
	}
	switch view {
	case arguments.ViewJSON:
		return plan.RenderStateJSON(u.stdout, snap, version)
	case arguments.ViewMarkdown:
		return plan.RenderStateMarkdown(u.stdout, snap)
	}
	return plan.RenderState(u.stdout, snap, u.styles())
}
