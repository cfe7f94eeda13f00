# A policy of COUNT scopes, one rule each.
import sys
print("policy scopes")
for i in range(int(sys.argv[1])):
    print(f'in "/s{i}/*" {{\n  when memcg.usage > 1GiB log "x"\n}}')
