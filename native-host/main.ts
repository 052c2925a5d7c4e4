console.error("devpay-companion: not built yet");
