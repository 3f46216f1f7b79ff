package deployhook

// Record is what PutJob writes of a job: its JSON within the store's size.
var Record = record

// MaxJobRecord is the size of a job's record in the store.
const MaxJobRecord = maxJobRecord
