/* Guards that turn SIGBUS on a truncated mapped file into a flag (map_guard.c has how). */
#ifndef CVG_MAP_GUARD_H
#define CVG_MAP_GUARD_H

#include <stddef.h>

/* Guard the mapped bytes [start, start + bytes): a SIGBUS inside them (the file shrank below a
 * mapped page) replaces the rest of the range with zero pages and marks the guard instead of
 * killing the process. Returns the guard's slot, or -1 when none is free (the range is then
 * unguarded, as before). */
int map_guard_arm(const void *start, size_t bytes);
/* 1 when a SIGBUS was turned into zeros inside the guard's range since it was armed. */
int map_guard_faulted(int slot);
/* Drop the guard (before the range is unmapped); returns map_guard_faulted's answer. */
int map_guard_disarm(int slot);

#endif
