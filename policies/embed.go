// Package policies embeds the built-in Rego policies.
//
// Layout: one rule per package, dwf.<kind>.<rule_name>, in <kind>/<rule_name>.rego
// beside its <rule_name>_test.rego; shared helpers live under lib/ in
// packages dwf.lib.*. Every rule package carries a METADATA annotation whose
// custom block gives id, severity and kind (see docs/rules.md).
package policies

import "embed"

// FS holds every .rego file of the built-in policy set, tests included (the
// engine skips *_test.rego when compiling policies for a check), and
// catalogue.json, the package and METADATA of every module, generated from
// them (see engine.CatalogueFile): the rule catalogue is read from it
// without parsing the modules a run does not compile; and modules.bin, the
// modules already compiled (see engine.ModulesFile), which a run decodes
// instead of parsing and compiling the Rego it needs.
//
//go:embed */*.rego catalogue.json modules.bin
var FS embed.FS
