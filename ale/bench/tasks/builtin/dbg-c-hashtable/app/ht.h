#ifndef HT_H
#define HT_H
/* String -> long hash table with open addressing (linear probing) and tombstones.
 * The table copies the keys it stores, grows when more than 70% of the slots are used
 * (live entries + tombstones), and never loses an entry. */
typedef struct ht ht;
ht *ht_new(void);
void ht_free(ht *t);
void ht_put(ht *t, const char *key, long value);   /* insert or overwrite */
int ht_get(const ht *t, const char *key, long *out); /* 1 if found (value in *out), else 0 */
int ht_del(ht *t, const char *key);                 /* 1 if it was present, else 0 */
long ht_count(const ht *t);                         /* number of live entries */
#endif
