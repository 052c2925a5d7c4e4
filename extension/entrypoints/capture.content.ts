export default defineContentScript({
  // Replaced at build time by the vendor configuration's key and redirect pages (wxt.config.ts).
  matches: ['https://aws-portal.amazon.com/gp/aws/user/subscription/*'],
  allFrames: true,
  main() {},
});
