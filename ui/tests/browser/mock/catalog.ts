//! The demo catalog's shapes for the browser tests: variants of the sample shop (demo/
//! kalima-arts_products_export.csv), prices in minor units, with the barcodes the tests scan.
import type { CatalogItem } from '../../../src/lib/contract';

const v = (n: number, title: string, sku: string | null, barcode: string | null, price: number, free: number, favourite = false) => ({
  item: { variant_id: `0193a6f0-0000-7000-8000-${String(n).padStart(12, '0')}`, title, sku, barcode, price, track_inventory: true, available: free } as CatalogItem,
  favourite,
});

export const CATALOG = [
  v(1, 'Old Soul 020 #Inkotanyi Cyane — 30x45 Canvas', 'OS020-30-C', '4006381333931', 8600, 6, true),
  v(2, 'Old Soul 020 #Inkotanyi Cyane — 30x45 Posters', 'OS020-30-P', '4006381333948', 3500, 14, true),
  v(3, 'Old Soul 020 #Inkotanyi Cyane — 48x60 Boards/Wood Frames', 'OS020-48-B', '4006381333955', 9000, 3),
  v(4, 'THE IMPORTANT CALL #PK — 30x45 Posters', 'TIC-30-P', '4006381333962', 3500, 9, true),
  v(5, 'THE IMPORTANT CALL #PK — M Black T-Shirt', 'TIC-TS-M-BLK', '4006381333979', 1900, 5, true),
  v(6, 'THE IMPORTANT CALL #PK — L Black Hoodie', 'TIC-HD-L-BLK', '4006381333986', 2800, 5, true),
  v(7, 'Queen Nefertiti — S White T-Shirt', 'QN-TS-S-WHT', '4006381333993', 1900, 5, true),
  v(8, 'Queen Nefertiti #Worship of the Sun God — 30x45 Posters', 'QN-30-P', '4006381334006', 3500, 2, true),
  v(9, 'Old Soul - 017 #Rihanna', 'OS017', '4006381334013', 8600, 50),
  v(10, 'Old Soul - 023', 'OS023', '4006381334020', 8600, 1),
  v(11, 'Kobe and Gigi', 'KOBE', '4006381334037', 8600, 0),
  v(12, 'BLACK LIVES MATTER” | Old Soul Freedom — 40x60 Posters', 'BLM-40-P', '4006381334044', 20500, 20),
];
