/*
 * CAT062 (SDPS system track data) user application profile, edition 1.19: one descriptor per
 * FRN, with the subfield tables of every compound item, used to find the length of every item,
 * including the ones rig does not read.
 */
#ifndef RIG_ASTERIX062_UAP_H
#define RIG_ASTERIX062_UAP_H

#include "rig_asterix.h"

#define CAT062_N_FRN 35

#define F(n) {ASX_FIXED, n, 0, NULL}
#define X(n) {ASX_EXTENDED, n, 0, NULL}
#define R(n) {ASX_REPETITIVE, n, 0, NULL}
#define SPARE {ASX_NONE, 0, 0, NULL}

/* I062/380 aircraft derived data: ADR ID MHG IAS TAS SAL FSS | TIS TID COM SAB ACS BVR GVR |
   RAN TAR TAN GSP VUN MET EMC | POS GAL PUN MB IAR MAC BPS */
static const asx_field cat062_380_sub[28] = {
    F(3), F(6), F(2), F(2), F(2), F(2), F(2),
    X(1), R(15), F(2), F(2), F(7), F(2), F(2),
    F(2), F(2), F(2), F(2), F(1), F(8), F(1),
    F(6), F(2), F(1), R(8), F(2), F(2), F(2),
};

/* I062/290 system track update ages: TRK PSR SSR MDS ADS ES VDL | UAT LOP MLT */
static const asx_field cat062_290_sub[10] = {
    F(1), F(1), F(1), F(1), F(2), F(1), F(1),
    F(1), F(1), F(1),
};

/* I062/295 track data ages: 31 subfields of one octet */
static const asx_field cat062_295_sub[31] = {
    F(1), F(1), F(1), F(1), F(1), F(1), F(1),
    F(1), F(1), F(1), F(1), F(1), F(1), F(1),
    F(1), F(1), F(1), F(1), F(1), F(1), F(1),
    F(1), F(1), F(1), F(1), F(1), F(1), F(1),
    F(1), F(1), F(1),
};

/* I062/390 flight plan related data: TAG CSN IFI FCT TAC WTC DEP | DST RDS CFL CTL TOD AST STS |
   STD STA PEM PEC */
static const asx_field cat062_390_sub[18] = {
    F(2), F(7), F(4), F(1), F(4), F(1), F(4),
    F(4), F(3), F(2), F(2), R(4), F(6), F(1),
    F(7), F(7), F(2), F(7),
};

/* I062/110 mode 5 data and extended mode 1 code: SUM PMN POS GA EM1 TOS XP */
static const asx_field cat062_110_sub[7] = {
    F(1), F(4), F(6), F(2), F(2), F(1), F(1),
};

/* I062/500 estimated accuracies: APC COV APW AGA ABA ATV AA | ARC */
static const asx_field cat062_500_sub[8] = {
    F(4), F(2), F(4), F(1), F(1), F(2), F(2),
    F(1),
};

/* I062/340 measured information: SID POS HEI MDC MDA TYP */
static const asx_field cat062_340_sub[6] = {
    F(2), F(4), F(2), F(2), F(2), F(1),
};

static const asx_field cat062_uap[CAT062_N_FRN] = {
    F(2),                                    /*  1 I062/010 data source identifier */
    SPARE,                                   /*  2 spare */
    F(1),                                    /*  3 I062/015 service identification */
    F(3),                                    /*  4 I062/070 time of track information */
    F(8),                                    /*  5 I062/105 calculated position, WGS-84 */
    F(6),                                    /*  6 I062/100 calculated position, cartesian */
    F(4),                                    /*  7 I062/185 calculated velocity, cartesian */
    F(2),                                    /*  8 I062/210 calculated acceleration */
    F(2),                                    /*  9 I062/060 track mode 3/A code */
    F(7),                                    /* 10 I062/245 target identification */
    {ASX_COMPOUND, 0, 28, cat062_380_sub},   /* 11 I062/380 aircraft derived data */
    F(2),                                    /* 12 I062/040 track number */
    X(1),                                    /* 13 I062/080 track status */
    {ASX_COMPOUND, 0, 10, cat062_290_sub},   /* 14 I062/290 system track update ages */
    F(1),                                    /* 15 I062/200 mode of movement */
    {ASX_COMPOUND, 0, 31, cat062_295_sub},   /* 16 I062/295 track data ages */
    F(2),                                    /* 17 I062/136 measured flight level */
    F(2),                                    /* 18 I062/130 calculated geometric altitude */
    F(2),                                    /* 19 I062/135 calculated barometric altitude */
    F(2),                                    /* 20 I062/220 calculated rate of climb/descent */
    {ASX_COMPOUND, 0, 18, cat062_390_sub},   /* 21 I062/390 flight plan related data */
    X(1),                                    /* 22 I062/270 target size and orientation */
    F(1),                                    /* 23 I062/300 vehicle fleet identification */
    {ASX_COMPOUND, 0, 7, cat062_110_sub},    /* 24 I062/110 mode 5 data, extended mode 1 */
    F(2),                                    /* 25 I062/120 track mode 2 code */
    X(3),                                    /* 26 I062/510 composed track number */
    {ASX_COMPOUND, 0, 8, cat062_500_sub},    /* 27 I062/500 estimated accuracies */
    {ASX_COMPOUND, 0, 6, cat062_340_sub},    /* 28 I062/340 measured information */
    SPARE, SPARE, SPARE, SPARE, SPARE,       /* 29-33 spare */
    {ASX_EXPLICIT, 0, 0, NULL},              /* 34 RE reserved expansion field */
    {ASX_EXPLICIT, 0, 0, NULL},              /* 35 SP special purpose field */
};

#undef F
#undef X
#undef R
#undef SPARE

#endif
