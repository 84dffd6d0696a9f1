"""Working offline (三断): the devices keepers register, the site snapshot their phones keep, and
the sync that applies what they recorded offline exactly once or holds it for a manager
(API.md "Working offline 三断", OFFLINE.md)."""
