/* banned.h — functions that must not be used in tonearm.
 *
 * Included (force-included by the build, -include) into every C file of the project, so a
 * use of one of these is a compile error, not a review comment. Each has a bounded or
 * thread-safe replacement: snprintf or struct buf instead of sprintf/strcpy/strcat,
 * strtok_r instead of strtok, gmtime_r/localtime_r instead of gmtime/localtime.
 * Modelled on git's banned.h.
 */
#ifndef TONEARM_BANNED_H
#define TONEARM_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_tonearm

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef gmtime
#define gmtime(t) BANNED(gmtime)
#undef localtime
#define localtime(t) BANNED(localtime)
#undef gets
#define gets(x) BANNED(gets)

#endif
