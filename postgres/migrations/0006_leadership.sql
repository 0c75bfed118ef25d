-- 0006_leadership: the replicas' leadership. One row says the current term: its epoch
-- (bumped by each replica that takes the leadership lock), where its leader serves, and
-- since when. leader_terms keeps every term with the writes it made: a write checks,
-- under the write lock, that its writer's epoch is the current one and counts itself in
-- its term, so the history shows which term wrote what and that a deposed leader wrote
-- nothing after the next term began.
CREATE TABLE leadership (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	epoch      BIGINT NOT NULL,
	leader_url TEXT NOT NULL,
	since      TEXT COLLATE "C" NOT NULL
);
INSERT INTO leadership (id, epoch, leader_url, since) VALUES (1, 0, '', '');

CREATE TABLE leader_terms (
	epoch         BIGINT PRIMARY KEY,
	leader_url    TEXT NOT NULL,
	began_at      TEXT COLLATE "C" NOT NULL,
	writes        BIGINT NOT NULL DEFAULT 0,
	last_write_at TEXT COLLATE "C" NOT NULL DEFAULT ''
);
