"""The public 金融超市 (product catalogue) and the product-pool Excel export."""
