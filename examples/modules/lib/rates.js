export const CURRENCY = "EUR";
export const VAT = 0.2;
export const PRICES = { apple: 0.5, bread: 2.25, cheese: 7.8, coffee: 11 };
