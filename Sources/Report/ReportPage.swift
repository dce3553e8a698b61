/// The fixed parts of report.html: style, the image table's controls, and the script that
/// renders the table from the JSON in `#report-data` one page at a time.
enum ReportPage {
    static func head(title: String) -> String {
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + "<title>\(SVGChart.escape(title))</title><style>\(style)</style></head><body>"
    }

    static let style = """
    body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
    header{background:#1d2330;color:#fff;padding:16px 24px}header h1{margin:0 0 8px;font-size:22px}
    .facts th{text-align:left;font-weight:600;padding:1px 12px 1px 0;color:#aab3c5}.facts td{padding:1px 0}
    main{padding:8px 24px 32px}h2{font-size:17px;margin:20px 0 8px}
    .cards{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}
    table.grid{border-collapse:collapse;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.12)}
    table.grid th,table.grid td{padding:4px 10px;border-bottom:1px solid #e3e6eb;text-align:left}
    table.grid th{background:#eef0f4;font-weight:600}
    .num{text-align:right;font-variant-numeric:tabular-nums}
    td.tp{background:#fde2e2}td.tn{background:#e2f4e5}td.fp,td.fn{background:#fff4cc}
    svg.chart{background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.12);font-size:11px}
    svg .plot{fill:none;stroke:#9aa3b2}svg .grid{stroke:#edf0f4}svg .diag{stroke:#b8bec9;stroke-dasharray:4 3}
    svg .curve{fill:none;stroke-width:2}svg .marker{stroke:#222;stroke-width:1.5;stroke-dasharray:5 3}
    svg .title{text-anchor:middle;font-weight:600;font-size:13px}svg .tick{text-anchor:middle;fill:#5b6474}
    svg .tick.y{text-anchor:end;dominant-baseline:middle}svg .axis{text-anchor:middle;fill:#333}
    svg .legend{dominant-baseline:middle}.note{color:#5b6474;font-size:12px}
    .controls{display:flex;flex-wrap:wrap;gap:10px;align-items:center;margin:0 0 8px}
    .controls label{font-size:13px}.controls select,.controls input{font:inherit;padding:2px 4px}
    #images{width:100%}#images td{vertical-align:middle}#images th.sortable{cursor:pointer;user-select:none}
    #images th.sorted-desc::after{content:" \\25BC"}#images th.sorted-asc::after{content:" \\25B2"}
    #images img{width:64px;height:64px;object-fit:contain;display:block;background:#eef0f4}
    #images tr.tp td:first-child{border-left:4px solid #d62728}#images tr.tn td:first-child{border-left:4px solid #2ca02c}
    #images tr.fp td:first-child,#images tr.fn td:first-child{border-left:4px solid #f0b400}
    #images tr.err td{color:#a33}.path{word-break:break-all}.pager{display:flex;gap:8px;align-items:center;margin:8px 0}
    figure.colours{margin:0;padding:10px 14px;background:#fff;box-shadow:0 1px 2px rgba(0,0,0,.12);width:320px}
    figure.colours figcaption{font-weight:600;font-size:13px;margin-bottom:6px}
    .colours .bar{position:relative;height:16px}.colours .tick{position:absolute;top:-3px;bottom:-3px;width:2px;margin-left:-1px;background:#000}
    .colours .ends{display:flex;justify-content:space-between;font-variant-numeric:tabular-nums;font-size:12px;margin-top:3px}
    .badge{display:inline-block;padding:0 6px;border-radius:8px;font-size:12px}.b1{background:#fde2e2;color:#9b1c1c}.b0{background:#e2f4e5;color:#1d6b2b}
    """

    static func imagesSection(types: [String]) -> String {
        let typeOptions = types.map { "<option value=\"\(SVGChart.escape($0))\">\(SVGChart.escape($0))</option>" }.joined()
        return """
        <section id="images-section"><h2>Images</h2><div class="controls">
        <label>ground truth <select id="f-label"><option value="all">all</option><option value="1">anomalous</option><option value="0">normal</option><option value="none">unknown</option></select></label>
        <label>prediction <select id="f-pred"><option value="all">all</option><option value="1">anomalous</option><option value="0">normal</option><option value="none">none</option></select></label>
        <label>outcome <select id="f-outcome"><option value="all">all</option><option value="tp">true positive</option><option value="fp">false positive</option><option value="fn">false negative</option><option value="tn">true negative</option><option value="err">failed</option></select></label>
        <label>type <select id="f-type"><option value="all">all</option>\(typeOptions)</select></label>
        <label>path <input id="f-text" type="search" placeholder="contains…" size="16"></label>
        <label>rows <select id="page-size"><option>25</option><option selected>50</option><option>100</option><option>200</option></select></label>
        </div><div class="pager"><button id="first" type="button">«</button><button id="prev" type="button">‹ previous</button><span id="shown"></span><button id="next" type="button">next ›</button><button id="last" type="button">»</button></div>
        <table id="images" class="grid"><thead><tr><th>picture</th><th class="sortable" data-key="path">image</th><th class="sortable" data-key="type">type</th><th class="sortable" data-key="score">score</th><th class="sortable" data-key="norm">normalized</th><th class="sortable" data-key="label">truth</th><th class="sortable" data-key="pred">prediction</th></tr></thead><tbody id="rows"></tbody></table>
        <p class="note">Thumbnails (the heat map over the image) are part of this page; click one to open its picture (image | ground truth | heat map | predicted mask) from the run's pictures/ folder beside the page.</p></section>
        """
    }

    /// Plain ES2017, no library. Sorting and filtering run over the decoded rows (fast for
    /// 10,000); only the current page becomes DOM.
    static let script = #"""
    (function(){
    "use strict";
    var D=JSON.parse(document.getElementById("report-data").textContent);
    function seg(p){return p.split("/").map(encodeURIComponent).join("/");}
    function stem(p){var s=p.lastIndexOf("/"),d=p.lastIndexOf(".");return d>s+1?p.slice(0,d):p;}
    function link(v,prefix,path){if(v===1)return prefix+stem(path)+".png";return typeof v==="string"?v:null;}
    var rows=D.rows.map(function(r){
      var dir=D.dirs[r[0]],path=dir?dir+"/"+r[1]:r[1];
      return {path:path,score:r[2]==null?null:r[2],label:r[3]==null?null:r[3],pred:r[4]==null?null:r[4],
        norm:r[5]==null?null:r[5],type:r[6]==null?"":D.types[r[6]],pic:link(r[7],D.pic,path),thumb:r[8]?"data:image/jpeg;base64,"+r[8]:null,err:r[9]||null};
    });
    rows.forEach(function(r){
      r.outcome=r.err?"err":(r.label==null||r.pred==null)?"":(r.label===1?(r.pred===1?"tp":"fn"):(r.pred===1?"fp":"tn"));
    });
    var state={key:"score",dir:-1,page:0,size:50};
    var $=function(id){return document.getElementById(id);};
    function esc(s){return String(s).replace(/[&<>"']/g,function(c){return {"&":"&amp;","<":"&lt;",">":"&gt;","\"":"&quot;","'":"&#39;"}[c];});}
    function fmt(v,d){return v==null?"":Number(v).toFixed(d);}
    function badge(v){return v==null?"—":"<span class=\"badge b"+v+"\">"+(v===1?"anomalous":"normal")+"</span>";}
    function matches(r){
      var f=$("f-label").value,p=$("f-pred").value,o=$("f-outcome").value,t=$("f-type").value,q=$("f-text").value.toLowerCase();
      if(f!=="all"&&(f==="none"?r.label!=null:r.label!==+f))return false;
      if(p!=="all"&&(p==="none"?r.pred!=null:r.pred!==+p))return false;
      if(o!=="all"&&r.outcome!==o)return false;
      if(t!=="all"&&r.type!==t)return false;
      if(q&&r.path.toLowerCase().indexOf(q)<0)return false;
      return true;
    }
    function compare(a,b){
      var x=a[state.key],y=b[state.key];
      if(x==null&&y==null)return a.path<b.path?-1:a.path>b.path?1:0;
      if(x==null)return 1;if(y==null)return -1;
      if(x<y)return -state.dir;if(x>y)return state.dir;
      return a.path<b.path?-1:a.path>b.path?1:0;
    }
    var view=[];
    function refilter(){view=rows.filter(matches);view.sort(compare);state.page=0;render();}
    function render(){
      var pages=Math.max(1,Math.ceil(view.length/state.size));
      state.page=Math.min(Math.max(0,state.page),pages-1);
      var start=state.page*state.size,end=Math.min(view.length,start+state.size),html=[];
      for(var i=start;i<end;i++){
        var r=view[i],pic=r.pic?seg(r.pic):null;
        var img=r.thumb?"<img loading=\"lazy\" decoding=\"async\" alt=\"\" src=\""+r.thumb+"\">":"";
        html.push("<tr class=\""+r.outcome+"\"><td>"+(pic?"<a href=\""+esc(pic)+"\" target=\"_blank\">"+img+"</a>":img)+"</td>"
          +"<td class=\"path\">"+(pic?"<a href=\""+esc(pic)+"\" target=\"_blank\">"+esc(r.path)+"</a>":esc(r.path))+(r.err?"<br>"+esc(r.err):"")+"</td>"
          +"<td>"+esc(r.type)+"</td><td class=\"num\">"+fmt(r.score,4)+"</td><td class=\"num\">"+fmt(r.norm,3)+"</td>"
          +"<td>"+badge(r.label)+"</td><td>"+badge(r.pred)+"</td></tr>");
      }
      $("rows").innerHTML=html.join("");
      $("shown").textContent=view.length?("rows "+(start+1)+"–"+end+" of "+view.length+" (page "+(state.page+1)+" of "+pages+")"):"no image matches";
      document.querySelectorAll("#images th.sortable").forEach(function(th){
        th.className="sortable"+(th.dataset.key===state.key?(state.dir<0?" sorted-desc":" sorted-asc"):"");
      });
      document.body.setAttribute("data-rendered",String(end-start));
      document.body.setAttribute("data-matching",String(view.length));
      trackThumbnails();
    }
    // How many of the page's thumbnails the browser decoded (data-thumbnails-loaded / -failed).
    function trackThumbnails(){
      var ok=0,bad=0,body=document.body;
      function note(img){if(img.naturalWidth>0)ok++;else bad++;body.setAttribute("data-thumbnails-loaded",String(ok));body.setAttribute("data-thumbnails-failed",String(bad));}
      body.setAttribute("data-thumbnails-loaded","0");body.setAttribute("data-thumbnails-failed","0");
      $("rows").querySelectorAll("img").forEach(function(img){
        if(img.complete)note(img);else{img.addEventListener("load",function(){note(img);});img.addEventListener("error",function(){note(img);});}
      });
    }
    ["f-label","f-pred","f-outcome","f-type"].forEach(function(id){$(id).addEventListener("change",refilter);});
    $("f-text").addEventListener("input",refilter);
    $("page-size").addEventListener("change",function(){state.size=+this.value;render();});
    $("first").onclick=function(){state.page=0;render();};
    $("prev").onclick=function(){state.page--;render();};
    $("next").onclick=function(){state.page++;render();};
    $("last").onclick=function(){state.page=1e9;render();};
    document.querySelectorAll("#images th.sortable").forEach(function(th){
      th.addEventListener("click",function(){
        var k=th.dataset.key;
        if(state.key===k)state.dir=-state.dir;else{state.key=k;state.dir=(k==="score"||k==="norm")?-1:1;}
        view.sort(compare);render();
      });
    });
    // Filters from the address, e.g. report.html#label=1&outcome=fn&type=crack&q=000 (links to a view).
    var controls={label:"f-label",pred:"f-pred",outcome:"f-outcome",type:"f-type",q:"f-text"};
    location.hash.replace(/^#/,"").split("&").forEach(function(kv){
      var p=kv.split("="),id=controls[p[0]];
      if(id&&p.length===2)$(id).value=decodeURIComponent(p[1]);
    });
    refilter();
    })();
    """#
}
