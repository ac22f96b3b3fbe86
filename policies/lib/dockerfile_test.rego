package dwf.lib.dockerfile_test

import data.dwf.lib.dockerfile as lib
import data.dwf.lib.fixtures as fx

test_basename if {
	lib.basename("/usr/bin/tini") == "tini"
	lib.basename("tini") == "tini"
	lib.basename("/tini") == "tini"
	lib.basename("") == ""
}

test_init_program if {
	lib.init_program("tini")
	lib.init_program("/sbin/tini")
	lib.init_program("tini-static")
	lib.init_program("/tini-static-arm64")
	not lib.init_program("tini-amd64")
	not lib.init_program("martini")
	not lib.init_program("/tini/bin")
	not lib.init_program("dumb-init")
	lib.init_program("dumb-init") with data.dwf.config.init as ["tini", "dumb-init"]
	not lib.init_program("tini") with data.dwf.config.init as []
}

test_root_user if {
	lib.root_user(fx.user("root", null, 1))
	lib.root_user(fx.user("root:app", null, 1))
	lib.root_user(fx.user("-0", 0, 1))
	not lib.root_user(fx.user("1001:0", 1001, 1))
	not lib.root_user(fx.user("rooter", null, 1))
}

test_final_user_ok if {
	lib.final_user_ok with input as fx.doc({"user": fx.user("1000", 1000, 3)})
	lib.final_user_ok with input as fx.doc({"user": fx.user("nobody", null, 3)})
	not lib.final_user_ok with input as fx.doc({})
	not lib.final_user_ok with input as fx.doc({"user": fx.user("0", 0, 3)})
	not lib.final_user_ok with input as fx.doc({"user": fx.unresolved_user("${U}", "variable U is not set", 3)})
	not lib.final_user_ok with input as fx.doc({
		"user": fx.user("admin", null, 3),
		"users_created": [fx.created("useradd", "admin", 0, 2)],
	})
}

test_created_as_root_picks_first if {
	user := fx.user("admin", null, 5)
	created := lib.created_as_root(user) with input as fx.doc({
		"user": user,
		"users_created": [fx.created("useradd", "admin", 0, 2), fx.created("adduser", "admin", 0, 3)],
	})
	created.location.line == 2
}

test_config_uid_accepts_string if {
	lib.config_uid == 1001
	lib.config_uid == 42 with data.dwf.config.uid as "42"
}

test_init_example if {
	lib.init_example == "tini"
	lib.init_example == "an init such as tini" with data.dwf.config.init as []
}

test_user_display if {
	lib.user_display(fx.user("1001", 1001, 1)) == "`USER 1001`"
	lib.user_display(fx.expanded_user("${U}", "1001", 1001, 1)) == "`USER ${U}` (expands to `1001`)"
}
