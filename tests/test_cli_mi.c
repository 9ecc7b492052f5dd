/* `convergent mi` end to end: mi.npy beside corr.npy equals the library's MI matrix of the
 * reservoir rows, mi.json carries the comparison, `match --metric mi` aligns on it, and a stats
 * directory without a reservoir is refused with a message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"

static void test_mi_command(void **state)
{
    (void)state;
    char *dir = test_tmpdir("cli_mi");
    char fix[1024];
    snprintf(fix, sizeof fix, "%s/stats/fc_k2", CVG_FIXTURE_DIR);
    assert_int_equal(test_system("%s stats -q -o %s/stats --layer fc --reservoir 2000 %s/net*.npy", CVG_CLI, dir, fix), 0);
    assert_int_equal(test_system("%s mi %s/stats --bits > %s/out.txt", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("grep -q 'of the 8 best semi-matched pairs' %s/out.txt", dir), 0);
    char path[2048];
    int nd;
    int64_t sh[CVG_NPY_MAX_DIMS];
    double *mi, *samples_d;
    snprintf(path, sizeof path, "%s/stats/fc/mi.npy", dir);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &mi));
    assert_int_equal(sh[0], 48);
    assert_int_equal(sh[1], 48);
    snprintf(path, sizeof path, "%s/stats/fc/samples.npy", dir);
    assert_cvg_ok(cvg_npy_load(path, &nd, sh, &samples_d));
    assert_int_equal(sh[0], 2000);
    float *samples = malloc(sizeof(float) * 2000 * 48);
    for (int i = 0; i < 2000 * 48; i++) samples[i] = (float)samples_d[i];
    double *ref = malloc(sizeof(double) * 48 * 48);
    cvg_mi_options opt;
    cvg_mi_options_init(&opt);
    opt.bits = 1;
    assert_cvg_ok(cvg_mi_matrix(samples, 2000, 48, &opt, ref));
    for (int i = 0; i < 48 * 48; i++) assert_true(mi[i] == ref[i] && isfinite(mi[i]));
    snprintf(path, sizeof path, "%s/stats/fc/mi.json", dir);
    assert_int_equal(test_system("grep -q '\"unit\":.*\"bits\"' %s && grep -q top8_agree %s", path, path), 0);
    assert_int_equal(test_system("%s match %s/stats --metric mi -q -o %s/match", CVG_CLI, dir, dir), 0);
    assert_int_equal(test_system("grep -q '\"metric\":.*\"mi\"' %s/match/fc/match_1_2.json", dir), 0);
    /* no reservoir: a clear refusal */
    assert_int_equal(test_system("%s stats -q -o %s/nores --layer fc --reservoir 0 %s/net*.npy", CVG_CLI, dir, fix), 0);
    assert_int_equal(test_system("%s mi %s/nores 2>%s/err", CVG_CLI, dir, dir), 1);
    assert_int_equal(test_system("grep -q 'reservoir' %s/err", dir), 0);
    assert_int_equal(test_system("%s mi %s/stats --bins 0 2>/dev/null", CVG_CLI, dir), 2);
    free(mi), free(samples_d), free(samples), free(ref), free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mi_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
