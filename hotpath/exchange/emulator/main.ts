import { BinanceEmulator } from "./binance.ts";

/**
 * Runs the Binance REST emulator on its own, for trying the exchange service against "binance"
 * without the internet: `npx tsx hotpath/exchange/emulator/main.ts`, then start Bot4 with the
 * environment it prints. Stops on Ctrl-C.
 */
const emu = new BinanceEmulator();
const url = await emu.start();
console.log(`Binance emulator at ${url}
  EXCHANGE_VENUES=binance BINANCE_TESTNET=false BINANCE_API_URL=${url} BINANCE_API_KEY=${emu.apiKey} BINANCE_SECRET=${emu.secret} npm start`);
const stop = async () => {
  await emu.stop();
  process.exit(0);
};
process.on("SIGINT", () => void stop());
process.on("SIGTERM", () => void stop());
