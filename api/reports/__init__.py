"""Reports a 考核办 prints and files: the monthly evaluation as a Chinese HTML page (charts from
the npm package chart.js, served locally), as an XLSX workbook and as CSV."""
