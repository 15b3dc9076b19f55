/**
 * QCA7000/QCA7005 SPI host interface facts (used by the driver hal/drivers/qca7000.ts and the chip model
 * simulator/chips/qca7000.ts). Sources: the Linux driver headers drivers/net/ethernet/qualcomm/qca_7k.h,
 * qca_spi.h, qca_7k_common.h (facts, not code), the I2SE application note "AN4 QCA7000 SPI / UART Protocol"
 * (rev. 5, 2018) and the open-plc-utils documentation "SPI Transmit Frame" / "SPI Receive Frame"; the device
 * tree binding Documentation/devicetree/bindings/net/qca-qca7000-spi.txt for the bus (SPI mode 3 (CPOL and CPHA
 * set), 1..16 MHz, 8 MHz default, interrupt on the rising edge; burst mode unless strapped for legacy mode).
 */

/** 16-bit command word, sent MSB first: bit 15 read (1) / write (0), bit 14 internal register (1) / buffer (0). */
export const CMD_READ = 0x8000;
export const CMD_WRITE = 0x0000;
export const CMD_INTERNAL = 0x4000;
export const CMD_EXTERNAL = 0x0000;
/** The register address occupies the low bits of the command word (the registers below). */
export const CMD_ADDR_MASK = 0x3fff;

/** Internal registers (16-bit values, MSB first on the wire). */
export const SPI_REG_BFR_SIZE = 0x0100;
export const SPI_REG_WRBUF_SPC_AVA = 0x0200;
export const SPI_REG_RDBUF_BYTE_AVA = 0x0300;
export const SPI_REG_SPI_CONFIG = 0x0400;
export const SPI_REG_SPI_STATUS = 0x0500;
export const SPI_REG_INTR_CAUSE = 0x0c00;
export const SPI_REG_INTR_ENABLE = 0x0d00;
export const SPI_REG_RDBUF_WATERMARK = 0x1200;
export const SPI_REG_WRBUF_WATERMARK = 0x1300;
export const SPI_REG_SIGNATURE = 0x1a00;
export const SPI_REG_ACTION_CTRL = 0x1b00;

/** SPI_CONFIG: writing this bit resets the chip's CPU (it reports SPI_INT_CPU_ON when it is back). */
export const SPI_CONFIG_SLAVE_RESET = 1 << 6;

/** INTR_CAUSE / INTR_ENABLE bits (a cause is cleared by writing it back to INTR_CAUSE). */
export const SPI_INT_WRBUF_BELOW_WM = 1 << 10;
export const SPI_INT_CPU_ON = 1 << 6;
export const SPI_INT_ADDR_ERR = 1 << 3;
export const SPI_INT_WRBUF_ERR = 1 << 2;
export const SPI_INT_RDBUF_ERR = 1 << 1;
export const SPI_INT_PKT_AVLBL = 1 << 0;

/** SIGNATURE always reads this when the SPI link works. */
export const GOOD_SIGNATURE = 0xaa55;
/** Size of the chip's write (and read) buffer, bytes: WRBUF_SPC_AVA reads this when the write buffer is empty. */
export const HW_BUF_LEN = 0xc5b; // 3163
/** Bytes the chip counts per frame beyond its framed length in the write buffer (and the read-side length prefix). */
export const HW_PKT_LEN = 4;

/** QcaFrm framing: SOF 0xAAAAAAAA, FL (16-bit little endian), RSVD 0x0000, the Ethernet frame, EOF 0x5555. */
export const FRM_SOF_BYTE = 0xaa;
export const FRM_EOF_BYTE = 0x55;
export const FRM_HEADER_LEN = 8;
export const FRM_FOOTER_LEN = 2;
/** Ethernet frame length limits inside the framing (no FCS): 60 .. 1522 (1518 + an 802.1Q tag). */
export const FRM_MIN_LEN = 60;
export const FRM_MAX_LEN = 1522;

/** SPI clock limits of the chip, Hz. */
export const SPI_HZ_MIN = 1_000_000;
export const SPI_HZ_MAX = 16_000_000;
