package rules

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/aquascene/aquahub/core"
	"github.com/robfig/cron/v3"
)

// Rule is one compiled rule.
type Rule struct {
	ID          string
	Description string
	// On lists event type patterns (`*` matches any run of characters), or is ["schedule"].
	On []string
	// Cron is the schedule of an `on: schedule` rule.
	Cron string
	// Tenants, when not empty, restricts the rule to those tenants.
	Tenants []string
	Steps   []*Step
	Retry   core.RetryPolicy
	Tests   []Test
	// File is where the rule was defined.
	File string

	When     *program
	schedule cron.Schedule
	line     int
	col      int
	path     string
}

// Step is one compiled step.
type Step struct {
	ID   string
	Kind string
	// Target and Params are a targeted kind's keys (connector: airtable, action: …).
	Target string
	Params map[string]string
	// Raw is the step's input as written, ${{ }} expressions as source text.
	Raw   map[string]any
	If    *program
	Retry *core.RetryPolicy
	input value
}

// Set is a compiled rule set; it implements core.Rules and is safe for concurrent use.
type Set struct {
	rules    []*Rule
	byID     map[string]*Rule
	exact    map[string][]*Rule
	wildcard []*Rule
	sched    []*Rule
	env      map[string]string
}

var _ core.Rules = (*Set)(nil)

func (s *Set) add(r *Rule) {
	s.rules = append(s.rules, r)
	s.byID[r.ID] = r
	if r.schedule != nil {
		s.sched = append(s.sched, r)
		return
	}
	hasWild := false
	for _, p := range r.On {
		if strings.ContainsAny(p, "*?[") {
			hasWild = true
		} else {
			s.exact[p] = append(s.exact[p], r)
		}
	}
	if hasWild {
		s.wildcard = append(s.wildcard, r)
	}
}

// Rules returns the rules in load order.
func (s *Set) Rules() []*Rule { return s.rules }

// Len is the number of rules.
func (s *Set) Len() int { return len(s.rules) }

// Match implements core.Rules.
func (s *Set) Match(ev *core.Event) ([]string, error) {
	var cands []*Rule
	if ev.Source == core.ScheduleSource && ev.Type == core.ScheduleEventType {
		if data, ok := ev.DataValue().(map[string]any); ok {
			if r, ok := s.byID[fmt.Sprint(data["rule"])]; ok && r.schedule != nil {
				cands = append(cands, r)
			}
		}
	} else {
		cands = append(cands, s.exact[ev.Type]...)
		for _, r := range s.wildcard {
			if r.matchesType(ev.Type) && !containsRule(cands, r) {
				cands = append(cands, r)
			}
		}
	}
	if len(cands) == 0 {
		return nil, nil
	}
	var env map[string]any
	var ids []string
	var errs []error
	for _, r := range cands {
		if len(r.Tenants) > 0 && !contains(r.Tenants, ev.Tenant) {
			continue
		}
		if r.When != nil {
			if env == nil {
				env = s.scope(core.Scope{Event: ev, Tenant: ev.Tenant})
			}
			v, err := r.When.run(env)
			if err != nil {
				errs = append(errs, fmt.Errorf("rule %q when: %w", r.ID, err))
				continue
			}
			if b, _ := v.(bool); !b {
				continue
			}
		}
		ids = append(ids, r.ID)
	}
	// Stable order: load order, so runs of one event are created the same way every time.
	sort.SliceStable(ids, func(i, j int) bool { return s.index(ids[i]) < s.index(ids[j]) })
	return ids, errors.Join(errs...)
}

func (s *Set) index(id string) int {
	for i, r := range s.rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}

func containsRule(rs []*Rule, r *Rule) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

func (r *Rule) matchesType(t string) bool {
	for _, p := range r.On {
		if p == t {
			return true
		}
		if ok, _ := path.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(t, "/", "\x00")); ok {
			return true
		}
	}
	return false
}

// Plan implements core.Rules.
func (s *Set) Plan(id string) (core.RulePlan, bool) {
	r, ok := s.byID[id]
	if !ok {
		return core.RulePlan{}, false
	}
	plan := core.RulePlan{ID: r.ID, Retry: r.Retry}
	for _, st := range r.Steps {
		st := st
		sp := core.StepPlan{ID: st.ID, Kind: st.Kind, Target: st.Target, Params: st.Params, Retry: st.Retry}
		sp.Render = func(sc core.Scope) (map[string]any, error) { return st.Render(s.scope(sc)) }
		if st.If != nil {
			sp.If = func(sc core.Scope) (bool, error) {
				v, err := st.If.run(s.scope(sc))
				b, _ := v.(bool)
				return b, err
			}
		}
		plan.Steps = append(plan.Steps, sp)
	}
	return plan, true
}

// Render evaluates the step's input in env.
func (st *Step) Render(env map[string]any) (map[string]any, error) {
	v, err := st.input.eval(env)
	if err != nil {
		return nil, err
	}
	m, _ := v.(map[string]any)
	return m, nil
}

// Schedules implements core.Rules.
func (s *Set) Schedules() []core.Schedule {
	out := make([]core.Schedule, 0, len(s.sched))
	for _, r := range s.sched {
		out = append(out, core.Schedule{RuleID: r.ID, Next: r.schedule.Next})
	}
	return out
}

// scope builds the expression environment.
func (s *Set) scope(sc core.Scope) map[string]any {
	steps := make(map[string]any, len(sc.Steps))
	for k, v := range sc.Steps {
		steps[k] = v
	}
	env := make(map[string]any, len(s.env))
	for k, v := range s.env {
		env[k] = v
	}
	var ev map[string]any
	if sc.Event != nil {
		ev = sc.Event.Map()
	}
	return map[string]any{"event": ev, "steps": steps, "tenant": sc.Tenant, "env": env}
}

// envTemplate is the typed environment expressions compile against.
func envTemplate() map[string]any {
	return map[string]any{
		"event":  map[string]any{},
		"steps":  map[string]any{},
		"tenant": "",
		"env":    map[string]any{},
	}
}
