// The columns of FinOps FOCUS 1.2 (focus.finops.org/focus-specification/v1-2; the FOCUS_Spec
// repository, tag v1.2, specification/columns/*.md): column ID, feature level, whether nulls are
// allowed, data type. Tests check the export against this list.

export type FocusLevel = 'Mandatory' | 'Recommended' | 'Conditional';
export type FocusType = 'String' | 'Decimal' | 'Date/Time' | 'JSON';

export const FOCUS_1_2_COLUMNS: readonly (readonly [string, FocusLevel, boolean, FocusType])[] = [
  ['AvailabilityZone', 'Recommended', true, 'String'],
  ['BilledCost', 'Mandatory', false, 'Decimal'],
  ['BillingAccountId', 'Mandatory', false, 'String'],
  ['BillingAccountName', 'Mandatory', true, 'String'],
  ['BillingAccountType', 'Conditional', false, 'String'],
  ['BillingCurrency', 'Mandatory', false, 'String'],
  ['BillingPeriodEnd', 'Mandatory', false, 'Date/Time'],
  ['BillingPeriodStart', 'Mandatory', false, 'Date/Time'],
  ['CapacityReservationId', 'Conditional', true, 'String'],
  ['CapacityReservationStatus', 'Conditional', true, 'String'],
  ['ChargeCategory', 'Mandatory', false, 'String'],
  ['ChargeClass', 'Mandatory', true, 'String'],
  ['ChargeDescription', 'Mandatory', true, 'String'],
  ['ChargeFrequency', 'Recommended', false, 'String'],
  ['ChargePeriodEnd', 'Mandatory', false, 'Date/Time'],
  ['ChargePeriodStart', 'Mandatory', false, 'Date/Time'],
  ['CommitmentDiscountCategory', 'Conditional', true, 'String'],
  ['CommitmentDiscountId', 'Conditional', true, 'String'],
  ['CommitmentDiscountName', 'Conditional', true, 'String'],
  ['CommitmentDiscountQuantity', 'Conditional', true, 'Decimal'],
  ['CommitmentDiscountStatus', 'Conditional', true, 'String'],
  ['CommitmentDiscountType', 'Conditional', true, 'String'],
  ['CommitmentDiscountUnit', 'Conditional', true, 'String'],
  ['ConsumedQuantity', 'Conditional', true, 'Decimal'],
  ['ConsumedUnit', 'Conditional', true, 'String'],
  ['ContractedCost', 'Mandatory', false, 'Decimal'],
  ['ContractedUnitPrice', 'Conditional', true, 'Decimal'],
  ['EffectiveCost', 'Mandatory', false, 'Decimal'],
  ['InvoiceId', 'Recommended', true, 'String'],
  ['InvoiceIssuerName', 'Mandatory', false, 'String'],
  ['ListCost', 'Mandatory', false, 'Decimal'],
  ['ListUnitPrice', 'Conditional', true, 'Decimal'],
  ['PricingCategory', 'Conditional', true, 'String'],
  ['PricingCurrency', 'Conditional', true, 'String'],
  ['PricingCurrencyContractedUnitPrice', 'Conditional', true, 'Decimal'],
  ['PricingCurrencyEffectiveCost', 'Conditional', true, 'Decimal'],
  ['PricingCurrencyListUnitPrice', 'Conditional', true, 'Decimal'],
  ['PricingQuantity', 'Mandatory', true, 'Decimal'],
  ['PricingUnit', 'Mandatory', true, 'String'],
  ['ProviderName', 'Mandatory', false, 'String'],
  ['PublisherName', 'Mandatory', false, 'String'],
  ['RegionId', 'Conditional', true, 'String'],
  ['RegionName', 'Conditional', true, 'String'],
  ['ResourceId', 'Conditional', true, 'String'],
  ['ResourceName', 'Conditional', true, 'String'],
  ['ResourceType', 'Conditional', true, 'String'],
  ['ServiceCategory', 'Mandatory', false, 'String'],
  ['ServiceName', 'Mandatory', false, 'String'],
  ['ServiceSubcategory', 'Recommended', false, 'String'],
  ['SkuId', 'Conditional', true, 'String'],
  ['SkuMeter', 'Conditional', true, 'String'],
  ['SkuPriceDetails', 'Conditional', true, 'JSON'],
  ['SkuPriceId', 'Conditional', true, 'String'],
  ['SubAccountId', 'Conditional', true, 'String'],
  ['SubAccountName', 'Conditional', true, 'String'],
  ['SubAccountType', 'Conditional', true, 'String'],
  ['Tags', 'Conditional', true, 'JSON'],
];

export const CHARGE_CATEGORIES = ['Usage', 'Purchase', 'Tax', 'Credit', 'Adjustment'];
export const SERVICE_CATEGORIES = [
  'AI and Machine Learning', 'Analytics', 'Business Applications', 'Compute', 'Databases', 'Developer Tools', 'Multicloud',
  'Identity', 'Integration', 'Internet of Things', 'Management and Governance', 'Media', 'Migration', 'Mobile', 'Networking',
  'Security', 'Storage', 'Web', 'Other',
];
export const CHARGE_FREQUENCIES = ['One-Time', 'Recurring', 'Usage-Based'];
export const PRICING_CATEGORIES = ['Standard', 'Dynamic', 'Committed', 'Other'];
/** FOCUS Date/Time format: ISO 8601 extended, UTC, `YYYY-MM-DDTHH:mm:ssZ`. */
export const FOCUS_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
/** FOCUS Numeric format: integer, decimal or E notation; no plus sign, no separators. */
export const FOCUS_NUMBER = /^-?\d+(\.\d+)?(E-?\d+)?$/;
