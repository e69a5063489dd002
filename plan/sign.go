package plan

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/wxmedia/wxmedia/state"
)

// ErrPlanEdited: the saved plan's recorded inputs (variable values,
// targets, replace addresses) were edited after planning.
var ErrPlanEdited = errors.New("saved plan was edited after planning")

// A saved plan is applied by planning again from the configuration, the
// state and the inputs the plan recorded, and checking every field of the
// result against the plan (Match). What cannot be checked that way is the
// inputs themselves: a value given with -var at planning exists only in
// the plan file. So a plan records, for each of them, an HMAC-SHA256
// keyed with a random secret kept in the state (state.Snapshot.PlanKey),
// which someone who can edit the plan file but not the state cannot
// compute. Apply computes the same signatures from the inputs it plans
// with and compares them.

// Sign records the signatures of p's inputs under key, the state's plan
// key; a nil key (no state yet, or one that has no key) signs nothing.
func (p *Plan) Sign(key []byte) {
	p.InputsMAC = ""
	for i := range p.Variables {
		p.Variables[i].MAC = ""
	}
	if len(key) == 0 {
		return
	}
	all := hmac.New(sha256.New, key)
	field(all, []byte("wxmedia plan inputs"))
	field(all, []byte(p.Lineage))
	field(all, binary.BigEndian.AppendUint64(nil, p.Serial))
	field(all, []byte(p.Config.SHA256))
	for i := range p.Variables {
		v := &p.Variables[i]
		m := hmac.New(sha256.New, key)
		field(m, []byte("wxmedia plan variable"))
		field(m, []byte(p.Lineage))
		field(m, binary.BigEndian.AppendUint64(nil, p.Serial))
		v.writeTo(m)
		v.MAC = hex.EncodeToString(m.Sum(nil))
		v.writeTo(all)
	}
	for _, list := range [][]string{p.Targets, p.Replace} {
		field(all, binary.BigEndian.AppendUint64(nil, uint64(len(list))))
		for _, a := range list {
			field(all, []byte(a))
		}
	}
	p.InputsMAC = hex.EncodeToString(all.Sum(nil))
}

// writeTo writes what identifies the variable's recorded value.
func (v *Variable) writeTo(w interface{ Write([]byte) (int, error) }) {
	field(w, []byte(v.Name))
	if v.Sensitive {
		field(w, []byte{1})
	} else {
		field(w, []byte{0})
	}
	field(w, compact(v.Value))
	field(w, compact(v.Type))
}

// field writes b with its length before it, so that fields cannot run
// into each other.
func field(w interface{ Write([]byte) (int, error) }, b []byte) {
	w.Write(binary.BigEndian.AppendUint64(nil, uint64(len(b))))
	w.Write(b)
}

func compact(b json.RawMessage) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// checkSignatures compares the signatures p records with those of fresh,
// planned again from p's inputs and signed with the state's key now. A
// plan made before any state existed carries none, and is not checked.
func (p *Plan) checkSignatures(fresh *Plan) error {
	if p.Lineage == "" || fresh.InputsMAC == "" {
		return nil
	}
	if p.InputsMAC == "" {
		return fmt.Errorf("%w: it carries no signature of its variables (made by a wxmedia, or against a state, without a plan key); plan again", ErrPlanEdited)
	}
	macs := make(map[string]string, len(fresh.Variables))
	for _, v := range fresh.Variables {
		macs[v.Name] = v.MAC
	}
	for _, v := range p.Variables {
		if m, ok := macs[v.Name]; ok && !hmac.Equal([]byte(m), []byte(v.MAC)) {
			return fmt.Errorf("%w: variable %q: its recorded value or its field mac was edited (its signature does not match); plan again", ErrPlanEdited, v.Name)
		}
	}
	if !hmac.Equal([]byte(p.InputsMAC), []byte(fresh.InputsMAC)) {
		return fmt.Errorf("%w: field inputs_mac does not match its variables, targets and replace addresses; plan again", ErrPlanEdited)
	}
	return nil
}

// ErrStateWritten is returned by SignAgainstNew when the state was written
// after p was planned.
var ErrStateWritten = errors.New("the state was written meanwhile")

// SignAgainstNew signs p, planned before any state existed, against snap,
// the state just created for it to be applied to: p takes the state's
// lineage and is signed with its plan key (see Sign), as an unsigned
// plan's variable values could be edited unnoticed. The new state is
// empty, so p plans the same against it; a state written since p was
// planned (its serial moved, or it holds resources or outputs) is
// ErrStateWritten, and p is left unsigned.
func (p *Plan) SignAgainstNew(snap *state.Snapshot) error {
	if snap.Serial != p.Serial || len(snap.Resources) > 0 || len(snap.Outputs) > 0 {
		return ErrStateWritten
	}
	p.Lineage = snap.Lineage
	p.Sign(snap.PlanKey)
	return nil
}
