// The card page: Stripe.js draws the card fields and saves the card at the gateway (confirming
// the setup made by the server); only the setup's id is posted back to the portal.
(function () {
  "use strict";
  const form = document.getElementById("card-form");
  if (!form || typeof window.Stripe !== "function") return;
  const texts = document.getElementById("card-messages").dataset;
  const refusals = JSON.parse(document.getElementById("card-refusals").textContent);
  // Stripe's codes to the portal's messages (billing.gateway.refusal_of says the same).
  const REFUSAL_OF = {
    insufficient_funds: "insufficient_funds", expired_card: "expired_card",
    incorrect_cvc: "incorrect_cvc", invalid_cvc: "incorrect_cvc",
    processing_error: "processing_error", authentication_required: "authentication_required",
    card_declined: "declined",
  };
  function messageFor(error) {
    if (error.unavailable) return texts.unavailable;
    const refusal = REFUSAL_OF[error.decline_code] || REFUSAL_OF[error.code];
    return (refusal && refusals[refusal]) || texts.failed;
  }
  const errors = document.getElementById("card-errors");
  const progress = document.getElementById("card-progress");
  const submit = document.getElementById("card-submit");
  const stripe = window.Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount("#card-element");

  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    errors.textContent = "";
    submit.disabled = true;
    progress.textContent = texts.saving;
    let result;
    try {
      result = await stripe.confirmCardSetup(form.dataset.clientSecret, {
        payment_method: {
          card: card,
          billing_details: { name: document.getElementById("id_holder").value },
        },
      });
    } catch (failure) {
      result = { error: { unavailable: true } };
    }
    if (result.error || !result.setupIntent) {
      progress.textContent = "";
      errors.textContent = result.error ? messageFor(result.error) : texts.failed;
      submit.disabled = false;
      return;
    }
    document.getElementById("id_setup_id").value = result.setupIntent.id;
    form.submit();
  });
})();
