// Package state owns wxmedia's state: what a configuration has uploaded to
// WeChat Pay and the identifiers the service returned for it.
//
// A state holds
//
//   - a lineage, a random identifier made when the state is created, which
//     tells one configuration's state from another's;
//   - a serial, which every write transaction increments, so a saved plan can
//     tell whether the state moved on since it was made;
//   - the resource instances, by address;
//   - the content-addressed cache, mapping (service, merchant ID, API,
//     SHA-256) to the identifier returned for those bytes;
//   - the configuration's outputs.
//
// [Backend] is a state store: the union of [Reader] (what plan and the
// read-only state commands need), [Writer] (what apply records),
// [Surgery] (what the state commands edit) and [Locker]. [Local] is the
// local backend: a bbolt file, by default .wxmedia/state.db, whose directory
// is created with mode 0700 and whose file has mode 0600. Only one writer may
// have it open at a time: bbolt holds an exclusive file lock while a writer
// has it open, and the writer records who it is in a side file
// (<state>.lock.json) so that a second wxmedia can say who holds the lock.
//
// Because the lock also shuts out readers, apply publishes the outputs to
// outputs.json beside the state ([WriteOutputsFile]) and other
// configurations read them from there ([ReadOutputsFile]).
//
// The package never overwrites a file it cannot read as a wxmedia state:
// such a file is refused with [ErrCorrupt] and left as it is.
package state
