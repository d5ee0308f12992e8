/* colsum: print the sum of every column of a CSV file of integers.
 *
 * usage: colsum FILE
 * The first line is a header of column names. Every other line holds comma-separated integers
 * (possibly negative); an empty field counts as 0 and so does a field missing at the end of a short
 * line; fields beyond the header's column count are ignored. Lines may end in "\n" or "\r\n" and can be
 * very long (100,000+ characters); there can be hundreds of columns; sums fit in 64 bits.
 * Output: one line "NAME=SUM" per column, in header order. Exit status 1 if FILE cannot be opened.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    char line[256];
    char names[16][32];
    int sums[16] = {0};
    int ncols = 0;
    FILE *f = fopen(argv[1], "r");
    if (!fgets(line, sizeof line, f)) return 0;
    for (char *tok = strtok(line, ","); tok; tok = strtok(NULL, ","))
        strcpy(names[ncols++], tok);
    while (fgets(line, sizeof line, f)) {
        int c = 0;
        for (char *tok = strtok(line, ","); tok && c < ncols; tok = strtok(NULL, ","))
            sums[c++] += atoi(tok);
    }
    for (int c = 0; c < ncols; c++) printf("%s=%d\n", names[c], sums[c]);
    return 0;
}
