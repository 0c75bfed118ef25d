package main

import (
	"reflect"
	"testing"
)

func TestSlurmUsers(t *testing.T) {
	f := engineFlags{users: []string{"acme=alice:bob", "beta=carol"}}
	got, err := f.tenantUsers()
	if err != nil || !reflect.DeepEqual(got, map[string][]string{"acme": {"alice", "bob"}, "beta": {"carol"}}) {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := (&engineFlags{users: []string{"acme"}}).tenantUsers(); err == nil {
		t.Error("a --slurm-user without logins was taken")
	}
}
