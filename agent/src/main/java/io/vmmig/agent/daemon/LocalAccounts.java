package io.vmmig.agent.daemon;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import java.util.HashSet;
import java.util.OptionalInt;
import java.util.Set;

/**
 * This host's user and group database as the C library sees it (files, LDAP, ... through NSS): what the
 * control socket needs to turn the names the JDK's {@code SO_PEERCRED} gives into ids and to know who is
 * in a group. An interface, so that the access rules are tested without real accounts.
 */
public interface LocalAccounts {
    /** The uid of {@code user} (a name, or a number as the JDK writes a uid without a name). */
    OptionalInt uid(String user);

    /** The gid of {@code group} (a name or a number). */
    OptionalInt gid(String group);

    /** Every group {@code user} is in: {@code primaryGid} and its supplementary groups in the database. */
    Set<Integer> groupsOf(String user, int primaryGid);

    /** The user this agent runs as (effective uid). */
    int agentUid();

    /** The C library's getpwnam(3), getgrnam(3) and getgrouplist(3). */
    static LocalAccounts system() {
        return Libc.ACCOUNTS;
    }

    /** libc through JNA; the non-reentrant lookups are serialised on this class. */
    final class Libc implements LocalAccounts {
        static final Libc ACCOUNTS = new Libc();

        interface C extends Library {
            Passwd getpwnam(String name);

            Group getgrnam(String name);

            int getgrouplist(String user, int group, int[] groups, IntByReference ngroups);

            int geteuid();
        }

        /** struct passwd of pwd.h. */
        @Structure.FieldOrder({"pw_name", "pw_passwd", "pw_uid", "pw_gid", "pw_gecos", "pw_dir", "pw_shell"})
        public static final class Passwd extends Structure {
            public String pw_name;
            public String pw_passwd;
            public int pw_uid;
            public int pw_gid;
            public String pw_gecos;
            public String pw_dir;
            public String pw_shell;

            public Passwd() {
            }

            public Passwd(Pointer p) {
                super(p);
                read();
            }
        }

        /** struct group of grp.h. */
        @Structure.FieldOrder({"gr_name", "gr_passwd", "gr_gid", "gr_mem"})
        public static final class Group extends Structure {
            public String gr_name;
            public String gr_passwd;
            public int gr_gid;
            public Pointer gr_mem;

            public Group() {
            }

            public Group(Pointer p) {
                super(p);
                read();
            }
        }

        private static final C C_LIB = Native.load("c", C.class);

        private Libc() {
        }

        private static OptionalInt number(String s) {
            if (s == null || s.isEmpty() || s.length() > 10 || !s.chars().allMatch(Character::isDigit)) return OptionalInt.empty();
            long n = Long.parseLong(s);
            return n <= Integer.MAX_VALUE ? OptionalInt.of((int) n) : OptionalInt.empty();
        }

        @Override
        public OptionalInt uid(String user) {
            synchronized (Libc.class) {
                Passwd p = C_LIB.getpwnam(user);
                if (p != null) return OptionalInt.of(p.pw_uid);
            }
            return number(user);
        }

        @Override
        public OptionalInt gid(String group) {
            synchronized (Libc.class) {
                Group g = C_LIB.getgrnam(group);
                if (g != null) return OptionalInt.of(g.gr_gid);
            }
            return number(group);
        }

        @Override
        public Set<Integer> groupsOf(String user, int primaryGid) {
            Set<Integer> out = new HashSet<>();
            out.add(primaryGid);
            int[] groups = new int[64];
            IntByReference n = new IntByReference(groups.length);
            synchronized (Libc.class) {
                if (C_LIB.getgrouplist(user, primaryGid, groups, n) < 0 && n.getValue() > groups.length) {
                    groups = new int[Math.min(n.getValue(), 65536)];
                    n.setValue(groups.length);
                    if (C_LIB.getgrouplist(user, primaryGid, groups, n) < 0) return out;
                }
            }
            for (int i = 0; i < Math.min(n.getValue(), groups.length); i++) out.add(groups[i]);
            return out;
        }

        @Override
        public int agentUid() {
            return C_LIB.geteuid();
        }
    }
}
