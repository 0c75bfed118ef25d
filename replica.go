package joule

// ReplicaRole is the part one `joule serve` plays among the replicas on one store.
type ReplicaRole string

// The replica roles. The leader runs the dispatch loop, the exchange's matcher and
// clock, the repricer and retention, and is the only replica that writes; a follower
// serves reads and the dashboard and sends the rest to the leader. A server on SQLite
// is the only process on its file: it always leads, in epoch 1.
const (
	ReplicaLeader   ReplicaRole = "leader"
	ReplicaFollower ReplicaRole = "follower"
)

// Leadership is where a replica stands: its role, the current term's epoch as it last
// read it (every write carries the leader's, and the store refuses a write whose epoch
// has ended), and the URL the leader of that term serves at ("" while none leads).
type Leadership struct {
	Role      ReplicaRole `json:"role"`
	Epoch     int64       `json:"epoch"`
	LeaderURL string      `json:"leader_url,omitempty"`
}
