// The mmp policy language: the only place its syntax lives.
//
// Statements carry no separators; each starts with a keyword, which is what
// the parser re-synchronises on after an error. Repetition is written with
// loops (`'not'*`, `('of' unary)*`) rather than recursion wherever the
// language allows it, so that only parentheses nest the parser's stack
// (the front end bounds their depth before parsing).
grammar Mmp;

file         : policyHeader item* EOF ;
policyHeader : 'policy' IDENT ;

item         : importDecl | letDecl | paramDecl | setDecl | protectDecl | preferDecl | scopeBlock | ruleDecl ;

// `import "std/senpai" in "/app.slice/*" with target = 5ms / 6s`: the
// imported policy's rules re-scoped, its parameters set. An `in` followed
// by `{` is a scope of its own (the parser looks that far ahead).
importDecl   : 'import' STRING ('in' STRING (',' STRING)*)? ('with' importArg (',' importArg)*)? ;
importArg    : IDENT '=' expr ;
letDecl      : 'let' IDENT '=' expr ;
// A knob an importer may set: its default, then the line that documents it.
paramDecl    : 'param' IDENT '=' expr STRING ;
setDecl      : 'set' IDENT '=' expr ;
// Cgroup patterns, or (with a word before them, as `prefer` takes) regular
// expressions over a process: protected processes are never killed.
protectDecl  : 'protect' (what='process' | IDENT)? STRING (',' STRING)* ;
// Preferences among a kill's candidates: cgroup patterns, or regular
// expressions over a process's name (`process`) or another of its texts
// (`cmdline`, `exe`, ...: an IDENT the checker checks).
preferDecl   : verb=('prefer' | 'avoid') (what='process' | IDENT)? STRING (',' STRING)* ;
scopeBlock   : 'in' STRING (',' STRING)* '{' scopeItem* '}' ;
// Only `let` and rules belong in a scope; the other statements are
// accepted here so that the builder can say so instead of the parser
// losing its place.
scopeItem    : letDecl | ruleDecl | setDecl | protectDecl | preferDecl | importDecl | scopeBlock | paramDecl ;

ruleDecl     : whenRule | onRule ;
whenRule     : 'when' cond=expr ('for' hold=expr)? actionList modifier* ;
onRule       : 'on' event ('when' cond=expr)? actionList modifier* ;
event        : IDENT | 'reclaim' ;

actionList   : action (',' action)* ;
action
  : 'reclaim' amount=sum? which=('anon' | 'file')? order=('first' | 'only')?          # reclaimAction
  | 'throttle' 'to' amount=sum                                                      # throttleAction
  | 'unthrottle'                                                                    # unthrottleAction
  | 'limit' 'to' amount=sum                                                         # limitAction
  | 'kill' pick=('largest' | 'oldest' | 'youngest' | 'growing')? target=('process' | 'cgroup')?
    ('among' STRING (',' STRING)*)? ('by' key=(IDENT | 'reclaim') ('>' above=sum)?)? ('with' signal=IDENT)? ('in' where=IDENT)?  # killAction
  | 'log' STRING                                                                    # logAction
  ;

modifier
  : 'cooldown' expr                     # cooldownModifier
  | 'at' 'most' times=QUANTITY 'per' expr  # atMostModifier
  | 'unless' expr                       # unlessModifier
  ;

// Precedence, lowest first: or, and, not, comparison, + -, * /, of, unary -.
expr         : disjunction ;
disjunction  : conjunction ('or' conjunction)* ;
conjunction  : negation ('and' negation)* ;
negation     : NOT* comparison ;
comparison   : sum (op=('<' | '<=' | '>' | '>=' | '==' | '!=') sum)? ;
sum          : product (op+=('+' | '-') product)* ;
product      : share (op+=('*' | '/') share)* ;
share        : unary ('of' unary)* ;
unary        : MINUS* primary ;
primary
  : '(' disjunction ')'                                # parenExpr
  | QUANTITY                                           # quantityExpr
  | ('true' | 'false')                                 # boolExpr
  | IDENT '(' disjunction (',' disjunction)* ')'       # callExpr
  | pathHead                                           # pathExpr
  ;
// `reclaim` is a keyword, but also the event whose fields are `reclaim.*`.
pathHead     : IDENT ('.' pathPart)* | 'reclaim' ('.' pathPart)+ ;
pathPart     : IDENT | 'reclaim' | 'anon' | 'file' | 'cgroup' | 'process' ;

// The entry point for `{expr}` interpolations inside log strings.
interpolation : disjunction EOF ;

NOT          : 'not' ;
MINUS        : '-' ;
QUANTITY     : DIGITS ('.' DIGITS)? ([A-Za-z] [A-Za-z0-9_]* | '%')? ;
IDENT        : [A-Za-z_] [A-Za-z0-9_]* ;
STRING       : '"' (~["\\\r\n] | '\\' ~[\r\n])* '"' ;
UNTERMINATED : '"' (~["\\\r\n] | '\\' ~[\r\n])* ;
COMMENT      : '#' ~[\r\n]* -> channel(HIDDEN) ;
WS           : [ \t\r\n]+ -> channel(HIDDEN) ;
STRAY        : . ;

fragment DIGITS : [0-9] [0-9_]* ;
