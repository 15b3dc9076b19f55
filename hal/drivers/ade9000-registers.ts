/**
 * ADE9000 register map and constants (Analog Devices ADE9000 data sheet, "Register Summary" / "Register
 * Details", and the ADE9000 Technical Reference Manual UG-1098, sections cited per constant). Only what the
 * driver and the simulator's chip model use. Facts from the documents, written out here.
 */

// ---- SPI protocol (UG-1098 "Accessing On-Chip Data" > "SPI Protocol Overview", "SPI Read", "SPI Write") ----
/** CMD_HDR: 16-bit command word, register address in bits [15:4], bit 3 = 1 for a read, 0 for a write. */
export const CMD_READ = 0x08;
/** Registers 0x480..0x4FF are 16 bits wide on the bus; every other register is 32 bits (data sheet, Register Summary). */
export const FIRST_16BIT = 0x480;
export const LAST_16BIT = 0x4ff;
export function is16Bit(address: number): boolean {
  return address >= FIRST_16BIT && address <= LAST_16BIT;
}

// ---- calibration (data sheet Register Summary; gains are 1 + x / 2^27, UG-1098 "Current Gain/Voltage Gain") ----
/** Per-phase block offset: phase B registers are phase A's + 0x20, phase C's + 0x40 (0x000.. / 0x200..). */
export const PHASE_STRIDE = 0x20;
export const AIGAIN = 0x000;
export const AVGAIN = 0x00b;
export const AIRMSOS = 0x00c;
export const AVRMSOS = 0x00d;
export const APGAIN = 0x00e;
export const AWATTOS = 0x00f;
/** 2^27: a gain register value of 2^27 doubles the reading. */
export const GAIN_ONE = 134_217_728;
export const CONFIG0 = 0x060;
export const VLEVEL = 0x40f;

// ---- measurements (data sheet Register Summary, 0x20C.. per phase with stride 0x20) ----
export const AIRMS = 0x20c;
export const AVRMS = 0x20d;
export const AWATT = 0x210;
/** Full-scale codes (UG-1098 "Total RMS"/"Fundamental RMS": xRMS = 52,702,092 at full-scale input; "Total Active Power": xWATT = 20,694,066 at full-scale voltage and current). */
export const RMS_FULL_SCALE = 52_702_092;
export const WATT_FULL_SCALE = 20_694_066;
/** The ADC full scale is 0.707 V rms (data sheet, Features: ±1 V, 707 mV rms FS at gain 1). */
export const ADC_FULL_SCALE_VRMS = 0.707;

// ---- energy (UG-1098 "Energy Accumulation Details", "Accessing the User Energy Registers") ----
/** Phase A total active energy: 45-bit signed accumulator, xWATTHR_HI = its 32 MSBs, xWATTHR_LO its 13 LSBs. */
export const AWATTHR_LO = 0x2e6;
export const AWATTHR_HI = 0x2e7;
/** Energy registers of phase B and C: phase A's + 0x3C and + 0x78 (0x322/0x323, 0x35E/0x35F). */
export const ENERGY_PHASE_STRIDE = 0x3c;
/** The DSP rate: xWATT samples are accumulated at f_DSP = 8 ksps. */
export const F_DSP = 8000;
/** HI holds bits [44:13] of the user accumulator. */
export const ENERGY_LO_BITS = 13;
/** One LSB of xWATTHR_HI, in xWATT-code·seconds: 2^13 / 8000. */
export const WATTHR_HI_LSB_CODE_SECONDS = 8192 / F_DSP;
/** The user accumulator width (it wraps: 2^44 / (20,694,066 × 8000) ≈ 106 s at full scale, UG-1098). */
export const ENERGY_ACC_BITS = 45;

// ---- status, interrupts, configuration (data sheet Register Summary, Register Details) ----
export const STATUS0 = 0x402;
export const STATUS1 = 0x403;
export const MASK0 = 0x405;
export const MASK1 = 0x406;
/** STATUS0 bits. */
export const STATUS0_EGYRDY = 1 << 0;
export const STATUS0_REVAPA = 1 << 1;
export const STATUS0_DREADY = 1 << 15;
/** STATUS1 bits: no-load (bit 0 ANLOAD), zero-crossing timeouts (6..8 ZXTOVA/B/C), RSTDONE (16), ERROR0..3 (28..31). */
export const STATUS1_ANLOAD = 1 << 0;
export const STATUS1_ZXTOVA = 1 << 6;
export const STATUS1_RSTDONE = 1 << 16;
export const STATUS1_ERRORS = 0xf0000000;
/** Line period of phase A..C and combined (UG-1098 "Line Period Calculation": T = (xPERIOD + 1) / (8000 × 2^16) s). */
export const APERIOD = 0x418;
export const COM_PERIOD = 0x41b;
export const PERIOD_SCALE = F_DSP * 65536;
/** No-load threshold on AWATT (24 bits; UG-1098 "No-Load Detection"). */
export const ACT_NL_LVL = 0x41c;
export const PART_ID = 0x472;
/** PART_ID bit 20 identifies an ADE9000. */
export const PART_ID_ADE9000 = 1 << 20;
/** RUN (16-bit): write 1 to start the DSP. */
export const RUN = 0x480;
/** CONFIG1 (16-bit): bit 0 SWRST. */
export const CONFIG1 = 0x481;
/** ACCMODE (16-bit): bit 8 SELFREQ (0 = 50 Hz, 1 = 60 Hz), bits [1:0] WATTACC (00 = signed accumulation). */
export const ACCMODE = 0x492;
export const ACCMODE_SELFREQ_60HZ = 1 << 8;
/** Zero-crossing timeout and threshold (16-bit). */
export const ZXTOUT = 0x498;
export const ZXTHRSH = 0x499;
/** ZX_LP_SEL (16-bit): which voltage drives zero crossing and the line period; 0x1E = combined VA, VB, VC. */
export const ZX_LP_SEL = 0x49a;
export const ZX_LP_SEL_COMBINED = 0x1e;
export const CRC_SPI = 0x4a9;
/** EP_CFG (16-bit): bit 0 EGY_PWR_EN, bit 1 EGY_TMR_MODE, bit 4 EGY_LD_ACCUM, bit 5 RD_RST_EN, bits [15:13] NOLOAD_TMR. */
export const EP_CFG = 0x4b0;
export const EP_CFG_EGY_PWR_EN = 1 << 0;
export const EP_CFG_EGY_LD_ACCUM = 1 << 4;
export const EP_CFG_RD_RST_EN = 1 << 5;
/** EGY_TIME (16-bit, 13 bits used): the user register is updated every EGY_TIME + 1 samples (EGYRDY). */
export const EGY_TIME = 0x4b2;
export const PGA_GAIN = 0x4b9;
export const VERSION = 0x4fe;
