package io.vmmig.agent.daemon;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

/** A user and group database of the test's own, so access rules are checked without real accounts. */
final class FakeAccounts implements LocalAccounts {
    final Map<String, Integer> users = new HashMap<>();
    final Map<String, Integer> groups = new HashMap<>();
    final Map<String, Set<Integer>> memberships = new HashMap<>();
    int agentUid;

    FakeAccounts(int agentUid) {
        this.agentUid = agentUid;
    }

    FakeAccounts user(String name, int uid, int... supplementaryGids) {
        users.put(name, uid);
        Set<Integer> s = new HashSet<>();
        for (int g : supplementaryGids) s.add(g);
        memberships.put(name, s);
        return this;
    }

    FakeAccounts group(String name, int gid) {
        groups.put(name, gid);
        return this;
    }

    @Override
    public OptionalInt uid(String user) {
        Integer u = users.get(user);
        return u == null ? OptionalInt.empty() : OptionalInt.of(u);
    }

    @Override
    public OptionalInt gid(String group) {
        Integer g = groups.get(group);
        return g == null ? OptionalInt.empty() : OptionalInt.of(g);
    }

    @Override
    public Set<Integer> groupsOf(String user, int primaryGid) {
        Set<Integer> s = new HashSet<>(memberships.getOrDefault(user, Set.of()));
        s.add(primaryGid);
        return s;
    }

    @Override
    public int agentUid() {
        return agentUid;
    }
}
