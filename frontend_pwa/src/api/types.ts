// Shapes of the OMS API (oms/api/serializers.py); money is integer minor units.

export interface Variant {
  sku: string
  barcode: string
  attributes: Record<string, string>
  price_amount: number
  currency: string
}

export interface Product {
  id: number
  slug: string
  name_en: string
  name_zh: string
  description_en: string
  description_zh: string
  category: string
  image: string | null
  variants: Variant[]
}

export interface Location {
  code: string
  kind: string
  name_en: string
  name_zh: string
  address: string
  city: string
  opening_hours: string
  ships: boolean
  pickup: boolean
  accepts_returns: boolean
}

export interface OrderLine {
  id: number
  sku: string
  product_name: string
  quantity: number
  unit_price_amount: number
  quantity_fulfilled: number
  quantity_returned: number
}

export interface Fulfilment {
  id: number
  location: string
  status: string
  carrier: string
  tracking_number: string
  lines: { order_line: number; quantity: number }[]
}

export interface Order {
  number: string
  sales_channel: string
  status: string
  currency: string
  subtotal_amount: number
  shipping_amount: number
  discount_amount: number
  total_amount: number
  fulfilment_method: 'ship' | 'ship_from_store' | 'pickup'
  pickup_location: string | null
  created_at: string
  lines: OrderLine[]
  fulfilments: Fulfilment[]
}

export interface PickListRow {
  sku: string
  product_name: string
  quantity: number
  orders: string[]
}

export interface SessionProfile {
  authenticated: boolean
  username: string
  roles: string[]
  locations: { code: string; name_en: string; name_zh: string }[]
}

export interface Availability {
  sales_channel: string
  available: Record<string, number>
  unknown: string[]
}
