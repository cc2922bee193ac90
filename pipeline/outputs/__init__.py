"""Records → the contract's files in the output folder: the records and CSVs (`export`), the folder
as a place (`folder`), the settling of every document and what spans documents (`rebuild`), the
workbook, the review pages and the review app with its decisions (`review`, `reviewapp`, `reviews`,
`flagged`)."""
