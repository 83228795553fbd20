import { useI18n } from 'vue-i18n'

/** Locale-aware money (integer minor units), dates and bilingual names. */
export function useFormat() {
  const { locale } = useI18n()
  function money(amount: number, currency: string): string {
    return new Intl.NumberFormat(locale.value, { style: 'currency', currency }).format(amount / 100)
  }
  function date(iso: string): string {
    return new Intl.DateTimeFormat(locale.value, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso))
  }
  function name(item: { name_en: string; name_zh: string }): string {
    return locale.value === 'zh-CN' ? item.name_zh || item.name_en : item.name_en || item.name_zh
  }
  return { money, date, name }
}
