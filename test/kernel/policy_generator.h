// A generator of random, well-typed, valid mmp policies for the property
// test: every construct of the language (docs/language.md), 1 to 50 rules,
// seeded so that a failing policy is reproduced by its seed alone.
//
// "Valid" means what `mmpc check` must accept with no diagnostic at all,
// not even a warning: the generator keeps to the checker's rules (types and
// units, shares in 0..100, no constant condition, the kill guard, event
// fields in their own `on` rule, one `let` per name, `allow_limit` with
// `limit to`, no two scopes with contradictory actions, no scope that is
// all protected), independently of the compiler's own code.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace mmp::test {

struct GeneratorOptions {
  int minRules = 1;
  int maxRules = 50;
  // Constructs never to generate, to look past a known failure for the
  // next one: fields ("memcg.swap", or a prefix ending in `*`:
  // "memcg.events.*"), "rate()" (every call of rate) and "field*field"
  // (a product of two run-time values).
  std::vector<std::string> exclude;
};

// Whether `name` (a field, "rate()" or "field*field") is one that `options` leaves out.
bool excluded(const GeneratorOptions& options, const std::string& name);

struct GeneratedPolicy {
  uint64_t seed = 0;
  std::string text;                // the policy's source
  int rules = 0;                   // how many rules it has
  std::set<std::string> features;  // the constructs it uses (see generatorFeatures)
};

// The policy of one seed (std::mt19937_64); the same seed gives the same text.
GeneratedPolicy generatePolicy(uint64_t seed, const GeneratorOptions& options = {});

// Every feature name generatePolicy can report: a long enough run covers
// them all, which is how the test knows that every construct was tried.
const std::vector<std::string>& generatorFeatures();

}  // namespace mmp::test
