package apply

import (
	"github.com/wxmedia/wxmedia/schema"
	"github.com/wxmedia/wxmedia/state"
)

// RemoteState reads, for a configuration's data "wxmedia_remote_state"
// sources, the outputs that applies of other configurations published:
// it is the schema.RemoteStateReader that evaluation is given.
type RemoteState struct{}

var _ schema.RemoteStateReader = RemoteState{}

// ReadOutputs reads the outputs of the state s names; see state.ReadOutputs.
func (RemoteState) ReadOutputs(s schema.BackendSettings) (map[string]schema.RemoteOutput, error) {
	outs, err := state.ReadOutputs(state.Settings(s))
	if err != nil {
		return nil, err
	}
	conv := make(map[string]schema.RemoteOutput, len(outs))
	for name, o := range outs {
		conv[name] = schema.RemoteOutput(o)
	}
	return conv, nil
}
